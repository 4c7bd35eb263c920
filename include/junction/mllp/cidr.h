// CIDR allow-lists for listeners: "127.0.0.1/32", "10.0.0.0/8", "::1/128", "fd00::/8".
//
//   auto list = AllowList::Parse({"127.0.0.0/8", "::1"});
//   if (!list->Allows(peer_address)) close();
//
// An empty list allows everyone. IPv4-mapped IPv6 peers (::ffff:a.b.c.d) match
// IPv4 entries. Thread safety: immutable after Parse.
#pragma once

#include <string>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "junction/hl7/status.h"

namespace junction::mllp {

class AllowList {
 public:
  static Result<AllowList> Parse(const std::vector<std::string>& entries);
  bool Allows(const boost::asio::ip::address& address) const;
  bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    boost::asio::ip::address network;
    unsigned prefix = 0;
  };
  std::vector<Entry> entries_;
};

}  // namespace junction::mllp
