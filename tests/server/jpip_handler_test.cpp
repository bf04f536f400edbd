// The JPIP request handler without sockets: sessions, windows, len, the cache model, errors,
// preemption. Images: the fixtures (tests/data/) g_plt.j2k (256x256, 1 tile, NL=3, 2 layers) and
// rgb_t.j2k (512x384, 4 tiles, 3 components).
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include "server/config.hpp"
#include "server/jpip_handler.hpp"
#include "server_test_util.hpp"

namespace pipit::server::testing {
namespace {

class handler_test : public ::testing::Test {
 public:
  handler_test() {
    tmp.add(data_file("g_plt.j2k"), "g_plt.j2k");
    tmp.add(data_file("rgb_t.j2k"), "maps/rgb_t.j2k");
    targets = std::make_unique<target_registry>(tmp.root());
    handler = std::make_unique<jpip_handler>(*targets, sessions, options());
  }
  virtual handler_options options() const { return {}; }

  reply get(const std::string& t) { return handler->handle("GET", t); }
  std::string header(const reply& r, const char* name) {
    const std::string* v = r.header(name);
    return v ? *v : std::string("<none>");
  }
  std::string cid_of(const reply& r) {
    const std::string v = header(r, "JPIP-cnew");
    const auto a = v.find("cid="), b = v.find(',', a);
    return v.substr(a + 4, b - a - 4);
  }

  temp_root tmp;
  std::unique_ptr<target_registry> targets;
  session_registry sessions;
  std::unique_ptr<jpip_handler> handler;
};

TEST_F(handler_test, new_session_sends_main_header_first_and_reports_channel_and_tid) {
  reply r = get("/g_plt.j2k?cnew=http&type=jpp-stream&stream=0&tid=0&len=2000");
  ASSERT_EQ(r.status, 200u) << r.text;
  EXPECT_EQ(r.content_type, "image/jpp-stream");
  const std::string cnew = header(r, "JPIP-cnew");
  EXPECT_NE(cnew.find("path=jpip"), std::string::npos) << cnew;
  EXPECT_NE(cnew.find("transport=http"), std::string::npos) << cnew;
  EXPECT_EQ(cid_of(r).size(), 32u);
  EXPECT_EQ(header(r, "JPIP-tid").size(), 16u);
  auto p = parse(drain(r));
  ASSERT_TRUE(p.ok);
  ASSERT_GE(p.messages.size(), 1u);
  EXPECT_EQ(p.messages[0].msg_class, 6u);  // a J2K target: no metadata-bin 0
  EXPECT_TRUE(p.messages[0].is_last);
  EXPECT_EQ(p.eor, 2);  // no fsiz: headers only, window done
}

TEST_F(handler_test, cids_are_distinct_and_random) {
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) ids.insert(cid_of(get("/g_plt.j2k?cnew=http&len=0")));
  EXPECT_EQ(ids.size(), 50u);
  EXPECT_EQ(sessions.sessions(), 50u);
}

// Behind a load balancer: an instance's channel ids and channel path name it, the random part
// is still 128 bits, and a request on the channel is served whatever path the proxy used.
TEST(instance_id, cids_and_channel_path_carry_the_instance_and_stay_random) {
  temp_root tmp;
  tmp.add(data_file("g_plt.j2k"), "g_plt.j2k");
  target_registry targets(tmp.root());
  session_registry sessions({}, "east-2");
  handler_options o;
  o.channel_path = channel_path("east-2");
  jpip_handler handler(targets, sessions, o);
  std::set<std::string> ids;
  std::string cid;
  for (int i = 0; i < 20; ++i) {
    reply r = handler.handle("GET", "/g_plt.j2k?cnew=http&len=0");
    ASSERT_EQ(r.status, 200u) << r.text;
    const std::string v = *r.header("JPIP-cnew");
    EXPECT_NE(v.find(",path=jpip/east-2,"), std::string::npos) << v;
    const auto a = v.find("cid="), b = v.find(',', a);
    cid = v.substr(a + 4, b - a - 4);
    ASSERT_EQ(cid.rfind("east-2.", 0), 0u) << cid;
    const std::string random = cid.substr(7);
    EXPECT_EQ(random.size(), 32u);
    EXPECT_EQ(random.find_first_not_of("0123456789abcdef"), std::string::npos) << cid;
    ids.insert(random);
  }
  EXPECT_EQ(ids.size(), 20u);
  for (const char* path : {"/jpip/east-2", "/jpip", "/anything"}) {
    reply r = handler.handle("GET", std::string(path) + "?cid=" + cid + "&fsiz=64,64&len=100");
    EXPECT_EQ(r.status, 200u) << path << ": " << r.text;
  }
  EXPECT_EQ(channel_path(""), "jpip");
  EXPECT_TRUE(valid_instance_id("a_B-9"));
  EXPECT_TRUE(valid_instance_id(""));
  EXPECT_FALSE(valid_instance_id("a.b"));
  EXPECT_FALSE(valid_instance_id("a/b"));
  EXPECT_FALSE(valid_instance_id(std::string(33, 'a')));
}

TEST_F(handler_test, stateless_len_golden_matches_vector_8) {
  // docs/jpip-notes.md §11 vector 8: main header, empty tile header, layer-0 packets of precincts 0
  // and 1 cut by len, EOR 4.
  reply r = get("/g_plt.j2k?fsiz=256,256&len=199");
  ASSERT_EQ(r.status, 200u) << r.text;
  EXPECT_EQ(drain(r), read_bytes(data_file("g_plt_partial.jpp")));
}

// Data-bin contents of a parsed stream (bins without gaps).
std::map<std::tuple<int, std::uint64_t, std::uint64_t>, std::vector<std::uint8_t>> bins_of(
    const parsed_stream& p) {
  std::map<std::tuple<int, std::uint64_t, std::uint64_t>, std::vector<std::uint8_t>> out;
  for (const auto& m : p.messages) {
    auto& b = out[{static_cast<int>(m.msg_class & ~1u), m.csn, m.in_class_id}];
    if (b.size() < m.msg_offset + m.body.size()) b.resize(m.msg_offset + m.body.size());
    std::copy(m.body.begin(), m.body.end(), b.begin() + static_cast<std::ptrdiff_t>(m.msg_offset));
  }
  return out;
}

TEST_F(handler_test, whole_image_bins_golden_match_full_vector) {
  // docs/jpip-notes.md §11: g_plt_full.jpp holds every data-bin of g_plt.j2k (in another order).
  const auto got = parse(drain(get("/g_plt.j2k?fsiz=256,256")));
  const auto want = parse(read_bytes(data_file("g_plt_full.jpp")));
  ASSERT_TRUE(got.ok);
  ASSERT_TRUE(want.ok);
  EXPECT_EQ(got.eor, 1);
  EXPECT_EQ(bins_of(got), bins_of(want));
}

TEST_F(handler_test, session_flow_len_then_repeat_gets_only_eor) {
  reply a = get("/g_plt.j2k?cnew=http&type=jpp-stream&len=500&fsiz=256,256");
  const std::string cid = cid_of(a);
  std::vector<std::uint8_t> all = drain(a);
  auto p = parse(all);
  EXPECT_EQ(p.eor, 4);
  std::uint64_t total = 0;
  int rounds = 0;
  for (int eor = 4; eor == 4 && rounds < 100; ++rounds) {
    auto b = parse(drain(get("/jpip?cid=" + cid + "&fsiz=256,256&len=500")));
    ASSERT_TRUE(b.ok);
    eor = b.eor;
    for (const auto& m : b.messages) total += m.body.size();
  }
  EXPECT_LT(rounds, 100);
  // Everything of the image was sent exactly once: the rest of the file minus SOT/SOD/EOC overhead.
  auto again = drain(get("/jpip?cid=" + cid + "&fsiz=256,256"));
  EXPECT_EQ(again, (std::vector<std::uint8_t>{0x00, 0x01, 0x00}));  // image done, nothing resent
  EXPECT_GT(total, 5000u);
}

TEST_F(handler_test, fsiz_rounding_and_changed_fields_reported) {
  reply r = get("/g_plt.j2k?fsiz=100,100&roff=10,10&rsiz=500,500&layers=9&len=0");
  EXPECT_EQ(header(r, "JPIP-fsiz"), "64,64");
  EXPECT_EQ(header(r, "JPIP-roff"), "6,6");
  EXPECT_EQ(header(r, "JPIP-rsiz"), "58,58");
  EXPECT_EQ(header(r, "JPIP-layers"), "2");
  reply up = get("/g_plt.j2k?fsiz=100,100,round-up&len=0");
  EXPECT_EQ(header(up, "JPIP-fsiz"), "128,128");
  reply cl = get("/g_plt.j2k?fsiz=256,256,closest&len=0");
  EXPECT_EQ(header(cl, "JPIP-fsiz"), "<none>");
  reply c = get("/maps/rgb_t.j2k?fsiz=512,384&comps=1,5&len=0");
  EXPECT_EQ(header(c, "JPIP-comps"), "1");
  reply q = get("/g_plt.j2k?fsiz=256,256&quality=3&len=0");
  EXPECT_EQ(header(q, "JPIP-quality"), "-1");
}

TEST_F(handler_test, qid_is_echoed_and_tid_reported_when_it_differs) {
  reply r = get("/g_plt.j2k?qid=7&tid=0&len=0");
  EXPECT_EQ(header(r, "JPIP-qid"), "7");
  const std::string tid = header(r, "JPIP-tid");
  reply same = get("/g_plt.j2k?tid=" + tid + "&len=0");
  EXPECT_EQ(header(same, "JPIP-tid"), "<none>");
  reply other = get("/g_plt.j2k?tid=abc&len=0");
  EXPECT_EQ(header(other, "JPIP-tid"), tid);
}

TEST_F(handler_test, stateless_model_skips_held_bins_and_is_ignored_on_tid_mismatch) {
  const auto full = parse(drain(get("/g_plt.j2k?fsiz=256,256")));
  ASSERT_EQ(full.eor, 1);
  const auto held = parse(drain(get("/g_plt.j2k?fsiz=256,256&model=Hm,H*,P*")));
  EXPECT_TRUE(held.messages.empty());
  EXPECT_EQ(held.eor, 1);
  const auto stale = parse(drain(get("/g_plt.j2k?fsiz=256,256&model=Hm,H*,P*&tid=different")));
  EXPECT_EQ(stale.messages.size(), full.messages.size());
  // ":L1": every precinct's first layer held; only layer-1 packets come.
  const auto l1 = parse(drain(get("/g_plt.j2k?fsiz=256,256&model=Hm,H0,P*:L1")));
  for (const auto& m : l1.messages) {
    ASSERT_EQ(m.msg_class, 0u);
    EXPECT_GT(m.msg_offset, 0u);
    EXPECT_TRUE(m.is_last);
  }
  // Implicit form: resolution 0 held; no precinct of r=0 (ids 0..15) comes.
  const auto r0 = parse(drain(get("/g_plt.j2k?fsiz=256,256&model=Hm,H0,r0")));
  for (const auto& m : r0.messages) EXPECT_FALSE(m.msg_class == 0 && m.in_class_id < 16);
}

TEST_F(handler_test, subtractive_model_resends_in_a_session) {
  reply a = get("/g_plt.j2k?cnew=http&fsiz=256,256");
  const std::string cid = cid_of(a);
  (void)drain(a);
  auto b = parse(drain(get("/jpip?cid=" + cid + "&fsiz=256,256&model=-P5,-Hm")));
  // The main header, then precinct 5 whole: both packets in one message (no `len`, so the
  // response carries all the window needs, precinct by precinct).
  ASSERT_EQ(b.messages.size(), 2u);
  EXPECT_EQ(b.messages[0].msg_class, 6u);
  EXPECT_EQ(b.messages[1].in_class_id, 5u);
  EXPECT_EQ(b.messages[1].msg_offset, 0u);
  EXPECT_TRUE(b.messages[1].is_last);
}

TEST_F(handler_test, second_channel_shares_the_session_model) {
  reply a = get("/g_plt.j2k?cnew=http&fsiz=64,64");
  const std::string cid = cid_of(a);
  (void)drain(a);
  reply b = get("/jpip?cid=" + cid + "&cnew=http&fsiz=64,64");
  const std::string cid2 = cid_of(b);
  EXPECT_NE(cid2, cid);
  EXPECT_EQ(drain(b), (std::vector<std::uint8_t>{0x00, 0x02, 0x00}));
  EXPECT_EQ(sessions.channels(), 2u);
  reply c = get("/jpip?cclose=" + cid2 + "&len=0");
  EXPECT_EQ(c.status, 200u) << c.text;
  EXPECT_EQ(sessions.channels(), 1u);
  reply d = get("/jpip?cclose=*&cid=" + cid);
  EXPECT_EQ(d.status, 200u) << d.text;
  EXPECT_EQ(sessions.sessions(), 0u);
  EXPECT_EQ(get("/jpip?cid=" + cid + "&len=0").status, 404u);
}

TEST_F(handler_test, newer_request_on_the_channel_preempts_with_eor_3) {
  handler = std::make_unique<jpip_handler>(*targets, sessions, handler_options{64, "jpip", 16});
  reply a = get("/maps/rgb_t.j2k?cnew=http&fsiz=512,384");
  const std::string cid = cid_of(a);
  std::vector<std::uint8_t> first;
  ASSERT_TRUE(a.body->next(first));
  reply b = get("/jpip?cid=" + cid + "&fsiz=64,48");
  std::vector<std::uint8_t> rest;
  EXPECT_FALSE(a.body->next(rest));
  EXPECT_EQ(rest, (std::vector<std::uint8_t>{0x00, 0x03, 0x00}));
  first.insert(first.end(), rest.begin(), rest.end());
  EXPECT_EQ(parse(first).eor, 3);
  EXPECT_EQ(parse(drain(b)).eor, 2);
  // wait=yes does not preempt.
  reply c = get("/jpip?cid=" + cid + "&fsiz=512,384");
  std::vector<std::uint8_t> part;
  ASSERT_TRUE(c.body->next(part));
  reply d = get("/jpip?cid=" + cid + "&fsiz=512,384&wait=yes");
  while (c.body->next(part)) {
  }
  EXPECT_NE(parse(part).eor, 3);
}

TEST_F(handler_test, jpt_stream_tile_bins_are_the_tile_parts) {
  reply r = get("/maps/rgb_t.j2k?type=jpt-stream&fsiz=512,384");
  ASSERT_EQ(r.status, 200u) << r.text;
  EXPECT_EQ(r.content_type, "image/jpt-stream");
  auto p = parse(drain(r));
  ASSERT_TRUE(p.ok);
  const auto file = read_bytes(data_file("rgb_t.j2k"));
  std::set<std::uint64_t> tiles;
  for (const auto& m : p.messages) {
    if (m.msg_class != 4) continue;
    tiles.insert(m.in_class_id);
    ASSERT_GE(m.body.size(), 12u);
    EXPECT_EQ(m.body[0], 0xFF);
    EXPECT_EQ(m.body[1], 0x90);  // each tile-part starts with its SOT
    // The bytes are the file's own.
    const auto it = std::search(file.begin(), file.end(), m.body.begin(), m.body.end());
    EXPECT_NE(it, file.end());
  }
  EXPECT_EQ(tiles.size(), 4u);
}

TEST_F(handler_test, errors_map_to_statuses_and_never_name_server_paths) {
  struct c {
    const char* req;
    unsigned status;
  } cases[] = {
      {"/g_plt.j2k?bogus=1", 400},
      {"/g_plt.j2k?fsiz=1", 400},
      {"/g_plt.j2k?roff=1,1", 400},
      {"/g_plt.j2k?len=1&len=2", 400},
      {"/g_plt.j2k?upload=jpp-stream", 501},
      {"/g_plt.j2k?type=raw", 501},
      {"/g_plt.j2k?cnew=http-tcp", 501},
      {"/g_plt.j2k?pref=fullwindow/r", 501},
      {"/g_plt.j2k?context=mj2t<1>", 501},
      {"/nothing.j2k", 404},
      {"/../g_plt.j2k", 404},
      {"/%2e%2e/root/g_plt.j2k", 404},
      {"/maps/..%2fg_plt.j2k", 404},
      {"//etc/passwd.jp2", 404},
      {"/?target=/etc/hosts.jp2", 404},
      {"/g_plt.j2k%00.jp2", 400},
      {"/g_plt.j2k%zz", 400},
      {"/", 400},
      {"/jpip?cid=0123456789abcdef0123456789abcdef", 404},
      {"/notes.txt", 404},
  };
  for (const auto& k : cases) {
    reply r = get(k.req);
    EXPECT_EQ(r.status, k.status) << k.req << ": " << r.text;
    EXPECT_FALSE(r.body) << k.req;
    EXPECT_EQ(r.text.find(tmp.dir.string()), std::string::npos) << r.text;
    EXPECT_EQ(r.text.find("/tmp"), std::string::npos) << r.text;
  }
  EXPECT_EQ(handler->handle("DELETE", "/g_plt.j2k").status, 405u);
}

TEST_F(handler_test, post_body_carries_the_query) {
  reply r = handler->handle("POST", "/g_plt.j2k", "fsiz=64,64&len=0&qid=3");
  EXPECT_EQ(r.status, 200u) << r.text;
  EXPECT_EQ(header(r, "JPIP-qid"), "3");
}

TEST_F(handler_test, align_never_cuts_a_packet) {
  auto p = parse(drain(get("/g_plt.j2k?fsiz=256,256&len=300&align=yes")));
  EXPECT_EQ(p.eor, 4);
  auto q = parse(drain(get("/g_plt.j2k?fsiz=256,256&len=300")));
  // Without align the budget is filled to the byte; with align the last message is a whole packet.
  std::uint64_t a = 0, b = 0;
  for (const auto& m : p.messages) a += m.body.size();
  for (const auto& m : q.messages) b += m.body.size();
  EXPECT_LT(a, b);
}

TEST(target_names, refuse_escapes_and_other_files) {
  for (const char* bad : {"", "/a.jp2", "../a.jp2", "a/../b.jp2", "./a.jp2", "a//b.jp2", "a\\b.jp2",
                          "a.txt", "a.jp2/", "a.jp2.txt", "x/\x01.jp2"})
    EXPECT_FALSE(normalize_target_name(bad)) << bad;
  for (const char* good : {"a.jp2", "maps/a.J2K", "b.j2c", "c.jpx", "d.jpf", "e.jph"})
    EXPECT_TRUE(normalize_target_name(good)) << good;
}

TEST(target_names, linked_jpx_urls_resolve_under_the_root_or_are_refused) {
  const fs::path root = "/srv/img";
  struct good_case {
    const char* jpx;
    const char* url;
    const char* name;
  };
  for (const auto& c :
       std::initializer_list<good_case>{{"m.jpx", "frames/f0.j2k", "frames/f0.j2k"},
                                        {"movies/m.jpx", "f0.jp2", "movies/f0.jp2"},
                                        {"movies/m.jpx", "../frames/f0.j2k", "frames/f0.j2k"},
                                        {"movies/m.jpx", "./a/../f%201.j2k", "movies/f 1.j2k"},
                                        {"m.jpx", "/srv/img/frames/f1.jp2", "frames/f1.jp2"},
                                        {"m.jpx", "file:///srv/img/frames/f1.jp2", "frames/f1.jp2"},
                                        {"m.jpx", "FILE://localhost/srv/img/f%231.jp2", "f#1.jp2"},
                                        {"m.jpx", "file:/srv/img/a.j2c", "a.j2c"}}) {
    auto n = linked_file_name(c.jpx, c.url, root);
    ASSERT_TRUE(n) << c.url << ": " << n.error().message;
    EXPECT_EQ(*n, c.name) << c.url;
  }
  struct bad_case {
    const char* url;
    const char* says;
  };
  for (const auto& c :
       std::initializer_list<bad_case>{{"../x.j2k", "leads out"},
                                       {"movies/../../x.j2k", "leads out"},
                                       {"/etc/hosts", "outside the served folder"},
                                       {"/srv/imgother/a.j2k", "outside the served folder"},
                                       {"/srv/img", "outside the served folder"},
                                       {"file:///etc/passwd", "outside the served folder"},
                                       {"file://example.org/srv/img/a.j2k", "another host"},
                                       {"file:a.j2k", "without an absolute path"},
                                       {"http://127.0.0.1/a.j2k", "remote URL"},
                                       {"https://example.org/a.jp2", "remote URL"},
                                       {"ftp://x/a.jp2", "remote URL"},
                                       {"a.j2k?x=1", "query"},
                                       {"a%00.j2k", "percent-escape"},
                                       {"a%zz.j2k", "percent-escape"},
                                       {"", "empty"},
                                       {"frames/notes.txt", "does not name"},
                                       {"frames/", "does not name"}}) {
    auto n = linked_file_name("m.jpx", c.url, root);
    ASSERT_FALSE(n) << c.url << " gave " << *n;
    EXPECT_NE(n.error().message.find(c.says), std::string::npos) << n.error().message;
    EXPECT_NE(n.error().message.find("url box: '" + std::string(c.url) + "'"), std::string::npos)
        << n.error().message;
  }
}

TEST(target_registry_test, symlinks_out_of_the_root_are_refused_and_changes_get_a_new_tid) {
  temp_root tmp;
  tmp.add(data_file("g_plt.j2k"), "in.j2k");
  fs::copy_file(data_file("g_plt.j2k"), tmp.dir / "outside.j2k");
  fs::create_symlink(tmp.dir / "outside.j2k", tmp.root() / "link_out.j2k");
  fs::create_symlink(tmp.root() / "in.j2k", tmp.root() / "link_in.j2k");
  fs::create_directory_symlink(tmp.dir, tmp.root() / "up");
  target_registry reg(tmp.root());
  EXPECT_FALSE(reg.open("link_out.j2k"));
  EXPECT_FALSE(reg.open("up/outside.j2k"));
  EXPECT_TRUE(reg.open("link_in.j2k"));
  auto a = reg.open("in.j2k");
  ASSERT_TRUE(a);
  auto again = reg.open("in.j2k");
  EXPECT_EQ(a->get(), again->get());  // indexed once, kept
  // A changed file: new index, new tid.
  fs::copy_file(data_file("g_eph.j2k"), tmp.root() / "in.j2k",
                fs::copy_options::overwrite_existing);
  fs::last_write_time(tmp.root() / "in.j2k",
                      fs::last_write_time(tmp.root() / "in.j2k") + std::chrono::seconds(5));
  auto b = reg.open("in.j2k");
  ASSERT_TRUE(b);
  EXPECT_NE((*a)->tid, (*b)->tid);
  // A file that is not JPEG 2000.
  std::ofstream(tmp.root() / "junk.jp2") << "not an image";
  auto j = reg.open("junk.jp2");
  ASSERT_FALSE(j);
  EXPECT_EQ(j.error().code, errc::corrupt);
  EXPECT_EQ(j.error().message.find(tmp.dir.string()), std::string::npos);
}

TEST(target_registry_test, each_build_may_commit_its_share_of_index_build_bytes) {
  // The least index memory rgb_t.j2k needs (the core's own accounting), found by bisection.
  const std::vector<std::uint8_t> file = read_bytes(data_file("rgb_t.j2k"));
  const auto fits = [&](std::uint64_t bytes) {
    index_options o;
    o.max_index_bytes = bytes;
    return image_index::build(bytes_view(file.data(), file.size()), o).has_value();
  };
  std::uint64_t lo = 1, hi = 1ull << 30;  // fits(hi), !fits(lo)
  ASSERT_TRUE(fits(hi));
  ASSERT_FALSE(fits(lo));
  while (hi - lo > 1) (fits((lo + hi) / 2) ? hi : lo) = (lo + hi) / 2;
  const std::uint64_t need = hi;
  temp_root tmp;
  tmp.add(data_file("rgb_t.j2k"), "a.j2k");
  // Two builder threads share the bytes: 2 * need indexes the file, 2 * need - 2 does not.
  build_limits enough;
  enough.threads = 2;
  enough.bytes = 2 * need;
  EXPECT_EQ(enough.per_build(), need);
  EXPECT_TRUE(target_registry(tmp.root(), 8, 1ull << 30, enough).open("a.j2k"));
  build_limits short_of = enough;
  short_of.bytes = 2 * need - 2;
  target_registry reg(tmp.root(), 8, 1ull << 30, short_of);
  auto r = reg.open("a.j2k");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::limit);  // 503
  EXPECT_NE(r.error().message.find("index memory"), std::string::npos) << r.error().message;
  EXPECT_FALSE(reg.open("a.j2k"));  // the failure is cached
  EXPECT_EQ(reg.failures_cached(), 1u);
  EXPECT_EQ(reg.misses(), 1u);
}

TEST(target_registry_test, one_build_per_file_others_wait_and_beyond_the_queue_limits_get_503) {
  temp_root tmp;
  for (const char* n : {"a.j2k", "b.j2k", "c.j2k"}) tmp.add(data_file("g_plt.j2k"), n);
  build_limits limits;
  limits.threads = 1;
  limits.max_waiting = 2;
  limits.max_queued = 1;
  target_registry reg(tmp.root(), 8, 1ull << 30, limits);
  // The one builder is held inside the callback of a.j2k's build: b.j2k then waits in the queue.
  std::promise<void> entered, release;
  auto released = release.get_future().share();
  ASSERT_FALSE(reg.open_or_wait("a.j2k", [&entered, released] {
    entered.set_value();
    released.wait();
  }));
  entered.get_future().wait();
  std::atomic<int> b_ready{0};
  ASSERT_FALSE(reg.open_or_wait("b.j2k", [&b_ready] { ++b_ready; }));
  EXPECT_EQ(reg.builds_pending(), 1u);
  // A second file queued: beyond max_queued.
  auto c = reg.open_or_wait("c.j2k", [] {});
  ASSERT_TRUE(c && !*c);
  EXPECT_EQ(c->error().code, errc::limit);  // 503
  EXPECT_NE(c->error().message.find("wait to be indexed"), std::string::npos);
  // Another request for b.j2k waits for the same build (one build per file)...
  ASSERT_FALSE(reg.open_or_wait("b.j2k", [&b_ready] { ++b_ready; }));
  EXPECT_EQ(reg.misses(), 2u);
  // ... and one more is beyond max_waiting.
  auto b3 = reg.open_or_wait("b.j2k", [] {});
  ASSERT_TRUE(b3 && !*b3);
  EXPECT_EQ(b3->error().code, errc::limit);
  release.set_value();
  // b's build ends by calling both its waiters; then b is served from the cache.
  for (int i = 0; i < 3000 && b_ready.load() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(b_ready.load(), 2);
  EXPECT_TRUE(reg.open("b.j2k"));
  EXPECT_EQ(reg.misses(), 2u);  // built once
  EXPECT_TRUE(reg.open("c.j2k"));
}

TEST(session_registry_test, idle_sessions_are_reaped) {
  temp_root tmp;
  tmp.add(data_file("g_plt.j2k"), "a.j2k");
  target_registry reg(tmp.root());
  session_registry s(session_limits{2, 2, std::chrono::seconds(60)});
  auto t = reg.open("a.j2k");
  ASSERT_TRUE(t);
  auto a = s.open_session(*t, false);
  ASSERT_TRUE(a);
  ASSERT_TRUE(s.open_session(*t, false));
  EXPECT_EQ(s.open_session(*t, false).error().code, errc::limit);
  ASSERT_TRUE(s.add_channel(*a));
  EXPECT_EQ(s.add_channel(*a).error().code, errc::limit);
  EXPECT_EQ(s.reap(clock::now()), 0u);
  EXPECT_EQ(s.reap(clock::now() + std::chrono::seconds(61)), 2u);
  EXPECT_EQ(s.sessions(), 0u);
  EXPECT_TRUE(a->ch->closed);
}

}  // namespace
}  // namespace pipit::server::testing
