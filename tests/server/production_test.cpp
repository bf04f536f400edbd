// The production pieces without sockets: configuration (TOML, flags, checks, --print-config),
// stream limits (max-len, session-max-bytes, the shutdown cut), the index cache's limits and
// counters, metrics exposition and the access log line.
#include <gtest/gtest.h>

#include "server/access_log.hpp"
#include "server/config.hpp"
#include "server/jpip_handler.hpp"
#include "server/limits.hpp"
#include "server/metrics.hpp"
#include "server_test_util.hpp"

namespace pipit::server::testing {
namespace {

TEST(server_config, toml_then_flags_and_print_round_trip) {
  serve_config c;
  ASSERT_TRUE(load_config_text(c, "root = \"/srv/img\"\nmax-sessions = 12\nplain-http = false\n",
                               "t.toml"));
  EXPECT_EQ(c.root, "/srv/img");
  EXPECT_EQ(c.max_sessions, 12u);
  EXPECT_FALSE(c.plain_http);
  ASSERT_TRUE(set_config_value(c, "max-sessions", "40"));
  ASSERT_TRUE(set_config_value(c, "metrics", "off"));
  EXPECT_EQ(c.max_sessions, 40u);
  EXPECT_FALSE(c.metrics);
  serve_config back;
  ASSERT_TRUE(load_config_text(back, print_config(c), "printed"));
  for (const auto& k : config_keys())
    EXPECT_EQ(config_value_text(back, k), config_value_text(c, k)) << k.name;
}

TEST(server_config, errors_name_the_key_and_line) {
  serve_config c;
  auto r = load_config_text(c, "root = \"/x\"\nmax-sesions = 3\n", "f.toml");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("f.toml:2"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("max-sesions"), std::string::npos);
  EXPECT_FALSE(load_config_text(c, "max-len = \"big\"\n", "f.toml"));
  EXPECT_FALSE(load_config_text(c, "max-len = -1\n", "f.toml"));
  EXPECT_FALSE(load_config_text(c, "[server]\nroot = \"/x\"\n", "f.toml"));
  EXPECT_FALSE(load_config_text(c, "root = \n", "f.toml"));
  EXPECT_FALSE(set_config_value(c, "threads", "4x"));
  EXPECT_FALSE(set_config_value(c, "plain-http", "maybe"));
  EXPECT_FALSE(set_config_value(c, "no-such-key", "1"));
}

TEST(server_config, checks) {
  temp_root tmp;
  serve_config c;
  EXPECT_FALSE(check_config(c));  // no root
  c.root = tmp.root().string();
  EXPECT_TRUE(check_config(c));
  c.listen = "localhost";
  EXPECT_FALSE(check_config(c));
  c.listen = "127.0.0.1:0";
  c.tls_cert = "/nonexistent.pem";
  EXPECT_FALSE(check_config(c));  // key missing, file missing
  c.tls_cert.clear();
  c.log_level = "loud";
  EXPECT_FALSE(check_config(c));
}

class server_limits_test : public ::testing::Test {
 public:
  server_limits_test() {
    tmp.add(data_file("g_plt.j2k"), "g_plt.j2k");
    targets = std::make_unique<target_registry>(tmp.root());
    handler = std::make_unique<jpip_handler>(*targets, sessions, handler_options{});
  }
  reply get(const std::string& t) { return handler->handle("GET", t); }
  static std::string cid_of(const reply& r) {
    const std::string v = *r.header("JPIP-cnew");
    const auto a = v.find("cid="), b = v.find(',', a);
    return v.substr(a + 4, b - a - 4);
  }
  temp_root tmp;
  std::unique_ptr<target_registry> targets;
  session_registry sessions;
  std::unique_ptr<jpip_handler> handler;
};

TEST_F(server_limits_test, max_len_lowers_len_and_says_so) {
  handler->set_limits(stream_limits{500, 0, 65536});
  reply r = get("/g_plt.j2k?fsiz=256,256");
  ASSERT_EQ(r.status, 200u);
  ASSERT_NE(r.header("JPIP-len"), nullptr);
  EXPECT_EQ(*r.header("JPIP-len"), "500");
  auto p = parse(drain(r));
  EXPECT_EQ(p.eor, 4);
  reply small = get("/g_plt.j2k?fsiz=256,256&len=100");
  EXPECT_EQ(small.header("JPIP-len"), nullptr);
  EXPECT_EQ(parse(drain(small)).eor, 4);
}

TEST_F(server_limits_test, session_budget_ends_with_eor_6_and_the_server_goes_on) {
  handler->set_limits(stream_limits{0, 3000, 65536});
  reply a = get("/g_plt.j2k?cnew=http&fsiz=256,256&len=2000");
  const std::string cid = cid_of(a);
  EXPECT_EQ(parse(drain(a)).eor, 4);  // its own len
  reply b = get("/jpip?cid=" + cid + "&fsiz=256,256");
  const auto bytes_b = drain(b);
  EXPECT_EQ(parse(bytes_b).eor, 6);  // the session's budget
  EXPECT_EQ(b.body->eor(), 6);
  reply c = get("/jpip?cid=" + cid + "&fsiz=256,256");
  auto pc = parse(drain(c));
  EXPECT_EQ(pc.eor, 6);
  EXPECT_TRUE(pc.messages.empty());
  // Another session is served in full.
  reply d = get("/g_plt.j2k?cnew=http&fsiz=64,64");
  EXPECT_EQ(parse(drain(d)).eor, 2);
}

TEST_F(server_limits_test, cut_ends_unfinished_bodies_with_eor_6) {
  handler->set_limits(stream_limits{0, 0, 200});
  reply r = get("/g_plt.j2k?fsiz=256,256");
  std::vector<std::uint8_t> out;
  ASSERT_TRUE(r.body->next(out));
  handler->cut_responses();
  while (r.body->next(out)) {
  }
  auto p = parse(out);
  EXPECT_TRUE(p.ok);
  EXPECT_EQ(p.eor, 6);
}

TEST_F(server_limits_test, sessions_beyond_the_limit_are_503_and_limits_change_live) {
  sessions.set_limits(session_limits{1, 1, std::chrono::seconds(60)});
  EXPECT_EQ(get("/g_plt.j2k?cnew=http&len=10").status, 200u);
  EXPECT_EQ(get("/g_plt.j2k?cnew=http&len=10").status, 503u);
  EXPECT_EQ(get("/g_plt.j2k?len=10").status, 200u);  // stateless still served
  sessions.set_limits(session_limits{2, 1, std::chrono::seconds(60)});
  EXPECT_EQ(get("/g_plt.j2k?cnew=http&len=10").status, 200u);
}

TEST(server_index_cache, counts_hits_and_evicts_by_bytes) {
  temp_root tmp;
  tmp.add(data_file("g_plt.j2k"), "a.j2k");
  tmp.add(data_file("g_plt.j2k"), "b.j2k");
  target_registry t(tmp.root(), 10, 1ull << 30);
  ASSERT_TRUE(t.open("a.j2k"));
  ASSERT_TRUE(t.open("a.j2k"));
  ASSERT_TRUE(t.open("b.j2k"));
  EXPECT_EQ(t.hits(), 1u);
  EXPECT_EQ(t.misses(), 2u);
  EXPECT_EQ(t.cached(), 2u);
  EXPECT_GT(t.cached_bytes(), 0u);
  t.set_limits(10, 1);  // any index is over: only the newest stays
  EXPECT_EQ(t.cached(), 1u);
  ASSERT_TRUE(t.open("b.j2k"));
  EXPECT_EQ(t.hits(), 2u);
}

TEST(server_metrics_test, exposition_moves_with_records) {
  server_metrics m;
  m.record(200, 1000, 2, 0.003);
  m.record(200, 500, 4, 0.2);
  m.record(503, 40, -1, 0.0001);
  metrics_gauges g;
  g.sessions_open = 7;
  const std::string t = m.render(g);
  EXPECT_NE(t.find("pipit_requests_total{status=\"200\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("pipit_requests_total{status=\"503\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("pipit_response_bytes_total 1540\n"), std::string::npos);
  EXPECT_NE(t.find("pipit_eor_total{reason=\"window-done\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("pipit_response_duration_seconds_bucket{le=\"0.005\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("pipit_response_duration_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(t.find("pipit_response_duration_seconds_count 3\n"), std::string::npos);
  EXPECT_NE(t.find("pipit_sessions_open 7\n"), std::string::npos);
  EXPECT_NE(t.find("# TYPE pipit_response_duration_seconds histogram\n"), std::string::npos);
}

TEST(server_access_log, line_has_every_field_and_escapes_the_target) {
  access_record a;
  a.client = "127.0.0.1:5000";
  a.method = "GET";
  a.target = "/a.jp2?fsiz=64,64&x=\"q\"\n";
  a.status = 200;
  a.bytes = 1234;
  a.eor = 2;
  a.seconds = 0.0015;
  a.session = "abcd";
  a.image = "a.jp2";
  a.window = "fsiz=64,64";
  EXPECT_EQ(
      format_access_line(a),
      "127.0.0.1:5000 GET 200 bytes=1234 eor=window-done dur_ms=1.500 session=abcd target=a.jp2 "
      "window=fsiz=64,64 \"/a.jp2?fsiz=64,64&x=\\x22q\\x22\\x0a\"");
  access_record b;
  b.status = 400;
  EXPECT_EQ(format_access_line(b),
            "- - 400 bytes=0 eor=- dur_ms=0.000 session=- target=- window=- \"\"");
}

}  // namespace
}  // namespace pipit::server::testing
