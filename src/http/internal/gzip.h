// gzip (RFC 1952) compression of response bodies and bounded decompression of
// request bodies, with zlib.
//
//   std::string packed = GzipCompress(body);
//   Result<std::string> plain = GzipDecompress(packed, /*max_bytes=*/16 << 20);
//
// Thread safety: stateless functions; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "junction/hl7/status.h"

namespace junction::http::internal {

// gzip member of `data` (default compression level, gzip header and trailer).
std::string GzipCompress(std::string_view data);

// Inflates one or more concatenated gzip members. kOutOfRange as soon as the
// output would exceed `max_bytes` (a zip bomb stops there), kInvalidArgument
// for data that is not gzip or is truncated.
Result<std::string> GzipDecompress(std::string_view data, std::size_t max_bytes);

// Whether an Accept-Encoding value admits gzip ("gzip", "x-gzip", "*", any
// q > 0; "gzip;q=0" refuses it).
bool AcceptsGzip(std::string_view accept_encoding);

}  // namespace junction::http::internal
