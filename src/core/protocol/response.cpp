#include "pipit/response.hpp"

namespace pipit {

response_summary compose_response(const databin_source& src, const window_spec& window,
                                  stream_model& model, const response_options& o,
                                  std::vector<std::uint8_t>& out) {
  stream_plan plan;
  plan.whole_metadata = o.send_metadata;  // otherwise no metadata ranges: nothing of bin 0
  plan.codestreams.push_back(stream_codestream{o.csn, window, true});
  plan.len = o.len;
  response_stream rs(src, model, std::move(plan));
  while (rs.next(out, std::numeric_limits<std::size_t>::max())) {
  }
  response_summary s;
  s.reason = rs.reason();
  s.bytes = rs.bytes();
  s.messages = rs.messages();
  if (o.write_eor) response_stream::append_eor(out, s.reason);
  return s;
}

}  // namespace pipit
