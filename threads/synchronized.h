// -----------------------------------------------------------------------------
// File: synchronized.h
// -----------------------------------------------------------------------------
//
// `Synchronized<T>`: a value that can only be reached through its lock, like
// Rust's `Mutex<T>` / `RwLock<T>` or folly::Synchronized. The lock is an
// `RwMutex`: `Lock()` gives a writable view, `ReadLock()` a const view that
// others may hold at the same time.
//
//   troupe::Synchronized<std::map<std::string, int>> scores;
//
//   scores.Lock()->emplace("ada", 3);            // lock held for the statement
//   {
//     auto view = scores.ReadLock();             // lock held for the scope
//     for (const auto& [name, score] : *view) Print(name, score);
//   }
//   int total = scores.WithLock([](auto& m) { return Sum(m); });
//
// A view must not outlive the Synchronized, and locking twice from one thread
// deadlocks, as with any non-recursive lock.

#ifndef TROUPE_THREADS_SYNCHRONIZED_H_
#define TROUPE_THREADS_SYNCHRONIZED_H_

#include <type_traits>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "threads/rw_mutex.h"

namespace troupe {

template <typename T>
class Synchronized {
 public:
  // A writable view: holds the exclusive lock until destroyed.
  class WriteView {
   public:
    WriteView(WriteView&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
    WriteView(const WriteView&) = delete;
    WriteView& operator=(const WriteView&) = delete;
    WriteView& operator=(WriteView&&) = delete;
    ~WriteView() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      if (owner_ != nullptr) owner_->mu_.Unlock();
    }

    T* operator->() { return &owner_->value_; }
    T& operator*() { return owner_->value_; }

   private:
    friend class Synchronized;
    explicit WriteView(Synchronized* owner) ABSL_NO_THREAD_SAFETY_ANALYSIS : owner_(owner) {
      owner_->mu_.Lock();
    }
    Synchronized* owner_;
  };

  // A read-only view: holds the shared lock until destroyed.
  class ReadView {
   public:
    ReadView(ReadView&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
    ReadView(const ReadView&) = delete;
    ReadView& operator=(const ReadView&) = delete;
    ReadView& operator=(ReadView&&) = delete;
    ~ReadView() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      if (owner_ != nullptr) owner_->mu_.ReaderUnlock();
    }

    const T* operator->() const { return &owner_->value_; }
    const T& operator*() const { return owner_->value_; }

   private:
    friend class Synchronized;
    explicit ReadView(const Synchronized* owner) ABSL_NO_THREAD_SAFETY_ANALYSIS : owner_(owner) {
      owner_->mu_.ReaderLock();
    }
    const Synchronized* owner_;
  };

  template <typename... Args>
  explicit Synchronized(Args&&... args) : value_(std::forward<Args>(args)...) {}

  Synchronized(const Synchronized&) = delete;
  Synchronized& operator=(const Synchronized&) = delete;

  // Synchronized::Lock()
  //
  // Blocks until this thread has exclusive access; the view keeps it.
  [[nodiscard]] WriteView Lock() { return WriteView(this); }

  // Synchronized::ReadLock()
  //
  // Blocks until this thread has shared access; the view keeps it.
  [[nodiscard]] ReadView ReadLock() const { return ReadView(this); }

  // Synchronized::WithLock() / WithReadLock()
  //
  // Runs `fn(value)` under the exclusive / shared lock and returns its result.
  template <typename Fn>
  decltype(auto) WithLock(Fn&& fn) {
    WriteView view = Lock();
    return std::forward<Fn>(fn)(*view);
  }
  template <typename Fn>
  decltype(auto) WithReadLock(Fn&& fn) const {
    ReadView view = ReadLock();
    return std::forward<Fn>(fn)(*view);
  }

  // Synchronized::Copy()
  //
  // A copy of the value, taken under the shared lock.
  T Copy() const {
    ReadView view = ReadLock();
    return *view;
  }

 private:
  // The views lock and unlock across calls, which clang's analysis cannot
  // follow; the value is private, so the views are the only way in.
  mutable RwMutex mu_;
  T value_;
};

}  // namespace troupe

#endif  // TROUPE_THREADS_SYNCHRONIZED_H_
