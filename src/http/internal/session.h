// One HTTP/1.1 connection (plain TCP or TLS): reads one request at a time
// (pipelined requests wait in the buffer), routes it, writes the handler's
// response, and keeps the connection alive or closes it.
//
//   StartSession(std::move(socket), state);   // from the listener's accept
//
// Each session runs on its own strand. Handlers get a Responder that posts
// back to that strand, so it may be called later from any thread; a response
// for a connection that has closed is dropped.
//
// Limits: header block (431), body (413, before reading it when
// Content-Length is too big), read_timeout for a started request (408, then
// close), idle_timeout between requests (silent close), and the same
// idle_timeout for writing a response to a client that stops reading.
//
// Ownership: the session owns its socket; it is kept alive by its pending
// operations (and, while a handler works, by itself) and registers in
// ServerState::sessions so Stop can reach it.
#pragma once

#include <memory>

#include <boost/asio/ip/tcp.hpp>

#include "http/internal/server_state.h"

namespace junction::http::internal {

// Wraps `socket` (already on its own strand) in a plain or TLS session, as
// `state->tls` says, registers it and starts reading.
void StartSession(boost::asio::ip::tcp::socket socket, std::shared_ptr<ServerState> state);

}  // namespace junction::http::internal
