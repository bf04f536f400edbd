// Links Pipit::client from an installed Pipit: opening an unreachable URL must fail cleanly.
#include <cstdio>

#include <pipit/client.hpp>

int main() {
  pipit::client::client_options options;
  options.reconnect_seconds = 0;
  options.transport.connect_timeout_ms = 2000;
  auto c = pipit::client::jpip_client::open("jpip://127.0.0.1:9/none.jp2", options);
  std::printf("%s\n", c ? "opened" : c.error().to_string().c_str());
  return c ? 1 : 0;
}
