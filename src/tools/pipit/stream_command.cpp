// `pipit stream FILE -o OUT.jpp [window]`: the JPP-stream answering a stateless request.
#include <cstdio>
#include <fstream>
#include <string>

#include "commands.hpp"
#include "local_target.hpp"
#include "pipit/request.hpp"
#include "pipit/response.hpp"
#include "window_options.hpp"

namespace pipit::tools {
namespace {

struct stream_options {
  std::string file, out, root;
  window_options window;
  unsigned csn = 0;
};

int run_stream(const stream_options& o) {
  auto rq = o.window.request();
  if (!rq) {
    std::fprintf(stderr, "pipit stream: %s\n", rq.error().message.c_str());
    return 2;
  }
  auto t = open_local_target(o.file, o.root);
  if (!t) {
    std::fprintf(stderr, "pipit stream: %s: %s\n", o.file.c_str(), t.error().to_string().c_str());
    return 1;
  }
  const image_index* ix = &(*t)->index;
  if (o.csn >= ix->codestreams.size()) {
    std::fprintf(stderr, "pipit stream: %s has %zu codestreams\n", o.file.c_str(),
                 ix->codestreams.size());
    return 1;
  }
  const databin_source& src = *(*t)->source;
  stream_model model(*ix);
  served_window served;
  window_spec w = window_from_request(ix->codestreams[o.csn], *rq, &served);
  response_options ro;
  ro.csn = o.csn;
  std::vector<std::uint8_t> out;
  auto summary = compose_response(src, w, model, ro, out);
  if (!write_file(o.out, out)) {
    std::fprintf(stderr, "pipit stream: cannot write %s\n", o.out.c_str());
    return 1;
  }
  std::fprintf(stderr, "%s: %llu messages, %zu bytes, frame %ux%u, region %u,%u %ux%u, EOR %s\n",
               o.out.c_str(), static_cast<unsigned long long>(summary.messages), out.size(),
               served.resolution.fx, served.resolution.fy, served.roff.x, served.roff.y,
               served.rsiz.x, served.rsiz.y, eor_reason_name(summary.reason));
  return 0;
}

}  // namespace

command register_stream(CLI::App& app) {
  auto o = std::make_shared<stream_options>();
  auto* sub = app.add_subcommand("stream",
                                 "Write the JPP-stream answering a stateless view-window request");
  sub->add_option("file", o->file, "JPEG 2000 file")->required();
  sub->add_option("-o,--output", o->out, "output .jpp file")->required();
  o->window.add_to(sub, "the window");
  sub->add_option("--layers", o->window.layers, "quality layers");
  sub->add_option("--stream", o->csn, "codestream number (JPX)");
  sub->add_option("--root", o->root,
                  "a linked JPX's url boxes are followed to files under this folder only, as "
                  "`pipit serve --root` does (default: the folder of the file)");
  return command{sub, [o] { return run_stream(*o); }};
}

}  // namespace pipit::tools
