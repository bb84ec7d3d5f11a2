// -----------------------------------------------------------------------------
// File: internal/counted.h
// -----------------------------------------------------------------------------
//
// An object shared by a fixed few owners (a promise and its future, an ask
// and its asker), counted in the object itself. Unlike std::shared_ptr, a
// new object can start with all of its owners at once, so handing the
// second one out costs no atomic increment; and the last owner frees it
// through a plain function pointer, not a control block's virtual calls.
// Not a public API.
//
//   struct State : Counted { int value = 0; };
//   auto [mine, yours] = NewCountedPair<State>();  // or NewCountedPairWith(alloc)
//   // two CountedPtr<State>: the last of the two to go frees the state
//
// Thread-safety: as std::shared_ptr's: distinct CountedPtrs to one object
// may be copied and dropped on any threads at once; one CountedPtr is not
// for concurrent use.

#ifndef TROUPE_THREADS_INTERNAL_COUNTED_H_
#define TROUPE_THREADS_INTERNAL_COUNTED_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace troupe::threads_internal {

template <typename T, typename Alloc>
class CountedWithAllocator;

// The base of a counted object: its owners and how to free it.
class Counted {
 public:
  Counted() = default;
  Counted(const Counted&) = delete;
  Counted& operator=(const Counted&) = delete;

  // One owner more, by an owner (so the count is at least one already).
  // relaxed: a new owner publishes nothing, it only keeps the object alive,
  // and the owner it was copied from cannot drop its count meanwhile.
  void AddOwner() { owners_.fetch_add(1, std::memory_order_relaxed); }

  // One owner less; the last frees the object.
  void DropOwner() {
    // A count of one is ours alone: nobody else can add an owner (adding
    // takes one), so the last owner frees without a read-modify-write.
    // acquire (on both paths): every other owner's use of the object, which
    // its release decrement published, happens before we free it.
    if (owners_.load(std::memory_order_acquire) == 1 ||
        owners_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      free_(this);
    }
  }

 protected:
  // Not virtual: the last owner frees through free_, which knows the type.
  ~Counted() = default;

 private:
  template <typename T, typename Alloc>
  friend class CountedWithAllocator;

  std::atomic<uint32_t> owners_{0};
  void (*free_)(Counted*) = nullptr;
};

// What NewCounted() makes: the object, and the allocator that frees it
// (no bytes for a stateless one).
template <typename T, typename Alloc>
class CountedWithAllocator final : public T {
 public:
  using Traits =
      typename std::allocator_traits<Alloc>::template rebind_traits<CountedWithAllocator>;
  using OwnAlloc =
      typename std::allocator_traits<Alloc>::template rebind_alloc<CountedWithAllocator>;

  template <typename... Args>
  CountedWithAllocator(const Alloc& alloc, uint32_t owners, Args&&... args)
      : T(std::forward<Args>(args)...), alloc_(alloc) {
    // Plain stores: nobody else has the object yet.
    Counted& counted = *this;
    counted.owners_.store(owners, std::memory_order_relaxed);
    counted.free_ = &Free;
  }

 private:
  static void Free(Counted* counted) {
    auto* dying = static_cast<CountedWithAllocator*>(static_cast<T*>(counted));
    OwnAlloc alloc(std::move(dying->alloc_));
    dying->~CountedWithAllocator();
    Traits::deallocate(alloc, dying, 1);
  }

  [[no_unique_address]] OwnAlloc alloc_;
};

// NewCountedWith<T>(alloc, owners, args...)
//
// A new T (derived from Counted, not final) built from `args`, with
// `owners` owners, each to be taken by one CountedPtr<T>::Adopt(). Memory
// comes from `alloc` (a standard allocator of any type), which frees it.
template <typename T, typename Alloc, typename... Args>
T* NewCountedWith(const Alloc& alloc, uint32_t owners, Args&&... args) {
  static_assert(std::is_base_of_v<Counted, T>);
  using Block = CountedWithAllocator<T, Alloc>;
  typename Block::OwnAlloc block_alloc(alloc);
  Block* block = Block::Traits::allocate(block_alloc, 1);
  try {
    ::new (static_cast<void*>(block)) Block(alloc, owners, std::forward<Args>(args)...);
  } catch (...) {
    Block::Traits::deallocate(block_alloc, block, 1);
    throw;
  }
  return block;
}

// NewCounted<T>(owners, args...)
//
// NewCountedWith() from the heap.
template <typename T, typename... Args>
T* NewCounted(uint32_t owners, Args&&... args) {
  return NewCountedWith<T>(std::allocator<T>(), owners, std::forward<Args>(args)...);
}

// CountedPtr<T>
//
// One owner of a counted T. Movable, copyable (a copy adds an owner),
// convertible from a CountedPtr to a class derived from T.
template <typename T>
class CountedPtr {
 public:
  CountedPtr() = default;
  CountedPtr(std::nullptr_t) {}  // NOLINT: as a null std::shared_ptr converts
  ~CountedPtr() { reset(); }

  // Takes one of the owners that NewCounted() made.
  static CountedPtr Adopt(T* object) {
    CountedPtr adopted;
    adopted.object_ = object;
    return adopted;
  }

  CountedPtr(const CountedPtr& other) : object_(other.object_) {
    if (object_ != nullptr) object_->AddOwner();
  }
  CountedPtr(CountedPtr&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
  template <typename U, typename = std::enable_if_t<std::is_convertible_v<U*, T*>>>
  CountedPtr(CountedPtr<U>&& other) noexcept  // NOLINT: as std::shared_ptr converts
      : object_(other.Release()) {}

  CountedPtr& operator=(CountedPtr other) noexcept {
    std::swap(object_, other.object_);
    return *this;
  }

  void reset() {
    if (T* object = std::exchange(object_, nullptr)) object->DropOwner();
  }

  T* get() const { return object_; }
  T* operator->() const { return object_; }
  T& operator*() const { return *object_; }
  explicit operator bool() const { return object_ != nullptr; }
  friend bool operator==(const CountedPtr& ptr, std::nullptr_t) { return ptr.object_ == nullptr; }

 private:
  template <typename U>
  friend class CountedPtr;

  // Gives up ownership without dropping it: for the converting move.
  T* Release() { return std::exchange(object_, nullptr); }

  T* object_ = nullptr;
};

// The two owners of a new object, for the usual pair (a promise side and
// a future side; an ask and its asker; a pool's task and its future).
template <typename T>
struct CountedPair {
  CountedPtr<T> first;
  CountedPtr<T> second;
};

// NewCountedPairWith<T>(alloc, args...) / NewCountedPair<T>(args...)
//
// NewCountedWith() / NewCounted() with two owners, each already adopted.
template <typename T, typename Alloc, typename... Args>
CountedPair<T> NewCountedPairWith(const Alloc& alloc, Args&&... args) {
  T* object = NewCountedWith<T>(alloc, 2, std::forward<Args>(args)...);
  return {CountedPtr<T>::Adopt(object), CountedPtr<T>::Adopt(object)};
}
template <typename T, typename... Args>
CountedPair<T> NewCountedPair(Args&&... args) {
  return NewCountedPairWith<T>(std::allocator<T>(), std::forward<Args>(args)...);
}

}  // namespace troupe::threads_internal

#endif  // TROUPE_THREADS_INTERNAL_COUNTED_H_
