// -----------------------------------------------------------------------------
// File: internal/handler.h
// -----------------------------------------------------------------------------
//
// `Handler`: the type-erased callable a Behavior keeps per message type. Like
// absl::AnyInvocable, but 32 bytes and 8-aligned (AnyInvocable is 16-aligned,
// which pads every entry of a behaviour to 48 bytes): a handler is stored in
// every actor, and an idle actor is meant to cost at most 256 bytes.
//
// A callable of up to 16 bytes, 8-aligned and nothrow-movable (a lambda that
// captures `this` and one more pointer) lives inline; a larger one on the
// heap.

#ifndef TROUPE_ACTOR_INTERNAL_HANDLER_H_
#define TROUPE_ACTOR_INTERNAL_HANDLER_H_

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace troupe {
class Envelope;
namespace actor_internal {

class Addressable;

class Handler {
 public:
  Handler() = default;

  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, Handler>>>
  Handler(F&& f) {  // NOLINT: implicit, like std::function
    using D = std::decay_t<F>;
    if constexpr (kInline<D>) {
      new (storage_) D(std::forward<F>(f));
      invoke_ = [](void* s, Envelope& e, Addressable* self) { (*static_cast<D*>(s))(e, self); };
      manage_ = [](void* from, void* to) {
        D* source = static_cast<D*>(from);
        if (to != nullptr) new (to) D(std::move(*source));
        source->~D();
      };
    } else {
      *reinterpret_cast<D**>(storage_) = new D(std::forward<F>(f));
      invoke_ = [](void* s, Envelope& e, Addressable* self) { (**static_cast<D**>(s))(e, self); };
      manage_ = [](void* from, void* to) {
        D** source = static_cast<D**>(from);
        if (to != nullptr) {
          *static_cast<D**>(to) = *source;
        } else {
          delete *source;
        }
      };
    }
  }

  Handler(Handler&& other) noexcept { MoveFrom(other); }
  Handler& operator=(Handler&& other) noexcept {
    if (this != &other) {
      Reset();
      MoveFrom(other);
    }
    return *this;
  }
  Handler(const Handler&) = delete;
  Handler& operator=(const Handler&) = delete;
  ~Handler() { Reset(); }

  explicit operator bool() const { return invoke_ != nullptr; }
  void operator()(Envelope& envelope, Addressable* self) { invoke_(storage_, envelope, self); }

 private:
  template <typename D>
  static constexpr bool kInline =
      sizeof(D) <= 16 && alignof(D) <= alignof(void*) && std::is_nothrow_move_constructible_v<D>;

  void MoveFrom(Handler& other) {
    if (other.manage_ == nullptr) return;
    other.manage_(other.storage_, storage_);  // moves, and destroys the source
    invoke_ = std::exchange(other.invoke_, nullptr);
    manage_ = std::exchange(other.manage_, nullptr);
  }
  void Reset() {
    if (manage_ != nullptr) manage_(storage_, nullptr);
    invoke_ = nullptr;
    manage_ = nullptr;
  }

  alignas(void*) unsigned char storage_[16];
  void (*invoke_)(void* storage, Envelope& envelope, Addressable* self) = nullptr;
  // to != null: move from -> to, then destroy from; to == null: destroy from.
  void (*manage_)(void* from, void* to) = nullptr;
};

}  // namespace actor_internal
}  // namespace troupe

#endif  // TROUPE_ACTOR_INTERNAL_HANDLER_H_
