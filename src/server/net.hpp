// The one place that includes Boost.Asio and Boost.Beast. GCC 12 in C++20 mode needs <utility>
// before <boost/asio.hpp> (Boost 1.74), so every server file includes this header instead.
#pragma once

#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace pipit::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

}  // namespace pipit::server
