// The fuzz target's checks (jpip_request_fuzz.hpp) on deterministic mutations of the request
// sequences real clients send: a smoke run of the fuzzer that needs no clang.
#include <gtest/gtest.h>

#include <random>

#include "jpip_request_fuzz.hpp"
#include "server_test_util.hpp"

namespace pipit::server::testing {
namespace {

TEST(request_mutations, never_crash_and_always_answer_with_status_and_eor) {
  temp_root tmp;
  tmp.add(data_file("g_plt.j2k"), "g_plt.j2k");
  target_registry targets(tmp.root());
  session_registry sessions;
  jpip_handler handler(targets, sessions, handler_options{1024, "jpip", 16});
  const std::vector<std::string> seeds = {
      "cnew=http&type=jpp-stream&stream=0&tid=0&len=2000",
      "fsiz=128,128,closest&roff=10,20&rsiz=30,40&comps=0&layers=1&len=500&qid=3",
      "fsiz=256,256&model=Hm,H*,P0:20,-P3:L1,[0]t0c0r1p*:L1&align=yes",
      "type=jpt-stream&fsiz=64,64&len=100",
      "metareq=[xml%20/w!;jp2h:r]R0D2!!&fsiz=32,32",
      "stream=0-3:2&context=jpxl%3C0-1%3E&wait=no&quality=50",
      "fsiz=4294967295,4294967295,round-up&roff=4294967295,0&rsiz=1,4294967295",
  };
  std::mt19937 rng(12345);
  const std::string alphabet = "=&,;:-*[]<>%!0123456789abcdefHPTMtcrpLRDxyz/.? ";
  for (int i = 0; i < 6000; ++i) {
    std::string s = seeds[static_cast<std::size_t>(i) % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const std::size_t at = rng() % s.size();
      switch (rng() % 3) {
        case 0: s[at] = alphabet[rng() % alphabet.size()]; break;
        case 1: s.erase(at, 1 + rng() % 3); break;
        default: s.insert(at, 1, alphabet[rng() % alphabet.size()]);
      }
    }
    std::string in(1, static_cast<char>(i % 4));
    in += s;
    fuzz_one_request(handler, reinterpret_cast<const std::uint8_t*>(in.data()), in.size());
  }
  SUCCEED();
}

}  // namespace
}  // namespace pipit::server::testing
