// Internal: the memory arena of one conversion (one Bundle).
//
// Every JSON value of a Bundle is allocated from one BundleArena, a bump
// allocator whose deallocate does nothing; the blocks are freed together when
// the arena dies. The returned Bundle object owns the arena through a shared
// boost::json::storage_ptr; the values inside it use the non-owning pointer
// from ArenaRef(), which is flagged "deallocate is trivial" so that Boost.JSON
// skips the element-by-element destruction walk of containers built on it.
//
//   json::storage_ptr owner = json::make_shared_resource<BundleArena>(64 * 1024);
//   json::storage_ptr sp = ArenaRef(owner);  // for the values; same resource
//   json::object bundle(owner);              // keeps the arena alive
//   bundle["entry"] = json::array(sp);       // no copy: equal resources
//
// Thread safety: none (one conversion, one thread), like monotonic_resource.
#pragma once

#include <boost/json.hpp>
#include <boost/version.hpp>
#include <cstddef>
#include <cstdint>
#include <new>

namespace junction::fhir::internal {

class BundleArena final : public boost::json::memory_resource {
 public:
  explicit BundleArena(std::size_t first_block) : next_size_(first_block) { Grow(0, 1); }
  BundleArena(const BundleArena&) = delete;
  BundleArena& operator=(const BundleArena&) = delete;
  ~BundleArena() override {
    while (head_ != nullptr) {
      Block* next = head_->next;
      ::operator delete(head_);
      head_ = next;
    }
  }

 private:
  struct Block {
    Block* next;
  };

  // Fast path: cur_ stays 8-aligned, so a request with align <= 8 (strings,
  // keys, arrays) is a size round-up and a bump; object tables ask for 16
  // (max_align_t), at most 8 bytes further on.
  void* do_allocate(std::size_t n, std::size_t align) override {
    const std::size_t n8 = (n + 7) & ~std::size_t{7};
    if (n8 >= n) [[likely]] {
      std::uintptr_t p = cur_;
      if (align > 8) p = align == 16 ? (cur_ + 15) & ~std::uintptr_t{15} : end_ + 1;
      if (p <= end_ && n8 <= end_ - p) [[likely]] {
        cur_ = p + n8;
        return reinterpret_cast<void*>(p);
      }
    }
    return Slow(n, align);
  }

  [[gnu::noinline]] void* Slow(std::size_t n, std::size_t align) {
    std::uintptr_t p = (cur_ + (align - 1)) & ~(std::uintptr_t{align} - 1);
    if (p >= cur_ && p <= end_ && n <= end_ - p) {
      cur_ = RoundUp8(p + n);
      return reinterpret_cast<void*>(p);
    }
    return Grow(n, align);
  }

  static std::uintptr_t RoundUp8(std::uintptr_t v) { return (v + 7) & ~std::uintptr_t{7}; }

  void* Grow(std::size_t n, std::size_t align) {
    std::size_t need = n + align + 8 + sizeof(Block);
    if (need < n) throw std::bad_alloc();
    std::size_t size = next_size_;
    while (size < need) size *= 2;
    next_size_ = size * 2;
    auto* b = static_cast<Block*>(::operator new(size));
    b->next = head_;
    head_ = b;
    cur_ = reinterpret_cast<std::uintptr_t>(b + 1);
    end_ = (reinterpret_cast<std::uintptr_t>(b) + size) & ~std::uintptr_t{7};
    std::uintptr_t p = (cur_ + (align - 1)) & ~(std::uintptr_t{align} - 1);
    cur_ = RoundUp8(p + n);
    return reinterpret_cast<void*>(p);
  }

  void do_deallocate(void*, std::size_t, std::size_t) override {}

  bool do_is_equal(const boost::json::memory_resource& other) const noexcept override {
    return this == &other;
  }

  Block* head_ = nullptr;
  std::uintptr_t cur_ = 0;
  std::uintptr_t end_ = 0;
  std::size_t next_size_;
};

}  // namespace junction::fhir::internal

// Why this specialisation: a value's storage must compare equal to the Bundle's
// (else moving it in copies it), so the values' pointer has to name the very
// resource object that make_shared_resource created, whose static type is
// boost::json::detail::shared_resource. Boost.JSON sets the "deallocate is
// trivial" bit of a non-owning storage_ptr from is_deallocate_trivial<T> of the
// pointer's static type, and is_deallocate_trivial is meant to be specialised
// by users. The trait is consulted only where a storage_ptr is made from a
// `detail::shared_resource*`, which happens only in ArenaRef() below (Boost
// itself never does it), so no other resource is affected. Tied to the layout
// of Boost.JSON 1.81 (Debian 12): re-check on another Boost version.
static_assert(BOOST_VERSION / 100 == 1081, "re-check ArenaRef() against this Boost.JSON version");
template <>
struct boost::json::is_deallocate_trivial<boost::json::detail::shared_resource> {
  static constexpr bool value = true;
};

namespace junction::fhir::internal {

// A non-owning pointer to the BundleArena that `owner` (made by
// make_shared_resource<BundleArena>) owns, flagged "deallocate is trivial".
inline boost::json::storage_ptr ArenaRef(const boost::json::storage_ptr& owner) {
  auto* shared = static_cast<boost::json::detail::shared_resource*>(owner.get());
  return boost::json::storage_ptr(shared);
}

}  // namespace junction::fhir::internal
