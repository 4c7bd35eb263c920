#include "junction/mllp/cidr.h"

#include <charconv>

namespace junction::mllp {
namespace {

namespace ip = boost::asio::ip;

ip::address Normalize(const ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return ip::make_address_v4(ip::v4_mapped, a.to_v6());
  }
  return a;
}

template <typename Bytes>
bool PrefixMatches(const Bytes& a, const Bytes& b, unsigned prefix) {
  for (std::size_t i = 0; i < a.size() && prefix > 0; ++i) {
    const unsigned bits = prefix >= 8 ? 8 : prefix;
    const unsigned mask = (0xFFu << (8 - bits)) & 0xFFu;
    if ((a[i] & mask) != (b[i] & mask)) return false;
    prefix -= bits;
  }
  return true;
}

}  // namespace

Result<AllowList> AllowList::Parse(const std::vector<std::string>& entries) {
  AllowList list;
  for (const std::string& text : entries) {
    const std::size_t slash = text.find('/');
    boost::system::error_code ec;
    ip::address network = ip::make_address(text.substr(0, slash), ec);
    if (ec) return Status::Invalid("'" + text + "' is not an IP address or CIDR block");
    network = Normalize(network);
    const unsigned max_prefix = network.is_v4() ? 32 : 128;
    unsigned prefix = max_prefix;
    if (slash != std::string::npos) {
      const char* first = text.data() + slash + 1;
      const char* last = text.data() + text.size();
      auto [ptr, err] = std::from_chars(first, last, prefix);
      if (err != std::errc() || ptr != last || first == last || prefix > max_prefix) {
        return Status::Invalid("'" + text + "': prefix length must be 0.." +
                               std::to_string(max_prefix));
      }
    }
    list.entries_.push_back({network, prefix});
  }
  return list;
}

bool AllowList::Allows(const ip::address& address) const {
  if (entries_.empty()) return true;
  const ip::address peer = Normalize(address);
  for (const Entry& e : entries_) {
    if (peer.is_v4() && e.network.is_v4() &&
        PrefixMatches(peer.to_v4().to_bytes(), e.network.to_v4().to_bytes(), e.prefix)) {
      return true;
    }
    if (peer.is_v6() && e.network.is_v6() &&
        PrefixMatches(peer.to_v6().to_bytes(), e.network.to_v6().to_bytes(), e.prefix)) {
      return true;
    }
  }
  return false;
}

}  // namespace junction::mllp
