// The GDAL driver's mapping of open options and GDAL's HTTP configuration options to the client's
// options (src/gdal/jpipoptions.cpp), through GDAL's real configuration store.
#include <cpl_conv.h>
#include <cpl_string.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "jpipoptions.h"

namespace {

// Sets GDAL configuration options for the scope of a test.
class config_scope {
 public:
  config_scope(std::initializer_list<std::pair<const char*, const char*>> kv) : kv_(kv) {
    for (const auto& [k, v] : kv_) CPLSetConfigOption(k, v);
  }
  ~config_scope() {
    for (const auto& [k, v] : kv_) CPLSetConfigOption(k, nullptr);
  }

 private:
  std::vector<std::pair<const char*, const char*>> kv_;
};

constexpr const char* url = "jpip://127.0.0.1:8080/a.jp2";

TEST(JpipOptions, NoSettingGivesTheDocumentedThirtySecondBound) {
  const auto o = JPIPClientOptions(url, nullptr);
  EXPECT_EQ(o.transport.effective_low_speed_seconds(), 30);
  EXPECT_EQ(o.transport.low_speed_limit, 1);
  EXPECT_EQ(o.transport.connect_timeout_ms, 30000);
  EXPECT_EQ(o.transport.timeout_ms, 0);
  EXPECT_EQ(o.transport.max_retry, 0);
  EXPECT_TRUE(o.transport.user_password.empty());
  EXPECT_TRUE(o.transport.headers.empty());
}

TEST(JpipOptions, TimeoutsAndRetriesFromGdalHttpOptions) {
  config_scope c{{"GDAL_HTTP_TIMEOUT", "2.5"},
                 {"GDAL_HTTP_CONNECTTIMEOUT", "4"},
                 {"GDAL_HTTP_MAX_RETRY", "3"},
                 {"GDAL_HTTP_RETRY_DELAY", "0.25"}};
  const auto o = JPIPClientOptions(url, nullptr);
  EXPECT_EQ(o.transport.timeout_ms, 2500);
  EXPECT_EQ(o.transport.connect_timeout_ms, 4000);
  EXPECT_EQ(o.transport.max_retry, 3);
  EXPECT_DOUBLE_EQ(o.transport.retry_delay_seconds, 0.25);
  // A total timeout replaces the default no-data bound.
  EXPECT_EQ(o.transport.effective_low_speed_seconds(), 0);
}

TEST(JpipOptions, LowSpeedSettings) {
  config_scope c{{"GDAL_HTTP_LOW_SPEED_TIME", "7"}, {"GDAL_HTTP_LOW_SPEED_LIMIT", "100"}};
  const auto o = JPIPClientOptions(url, nullptr);
  EXPECT_EQ(o.transport.effective_low_speed_seconds(), 7);
  EXPECT_EQ(o.transport.low_speed_limit, 100);
}

TEST(JpipOptions, AuthenticationHeadersAndCookie) {
  config_scope c{{"GDAL_HTTP_AUTH", "DIGEST"},
                 {"GDAL_HTTP_USERPWD", "ann:s3cret"},
                 {"GDAL_HTTP_HEADERS", R"(X-Api-Key: k1, "X-Quoted: a, \"b\"")"},
                 {"GDAL_HTTP_HEADER_FILE", "/some/file"},
                 {"GDAL_HTTP_COOKIE", "a=1; b=2"},
                 {"GDAL_HTTP_PROXY", "127.0.0.1:3128"},
                 {"GDAL_HTTP_PROXYUSERPWD", "p:q"}};
  const auto o = JPIPClientOptions(url, nullptr);
  EXPECT_EQ(o.transport.auth, "digest");
  EXPECT_EQ(o.transport.user_password, "ann:s3cret");
  ASSERT_EQ(o.transport.headers.size(), 2u);
  EXPECT_EQ(o.transport.headers[0], "X-Api-Key: k1");
  EXPECT_EQ(o.transport.headers[1], "X-Quoted: a, \"b\"");
  EXPECT_EQ(o.transport.header_file, "/some/file");
  EXPECT_EQ(o.transport.cookie, "a=1; b=2");
  EXPECT_EQ(o.transport.proxy, "127.0.0.1:3128");
  EXPECT_EQ(o.transport.proxy_auth, "p:q");
}

TEST(JpipOptions, BearerAloneSelectsTheBearerScheme) {
  config_scope c{{"GDAL_HTTP_BEARER", "tok"}};
  const auto o = JPIPClientOptions(url, nullptr);
  EXPECT_EQ(o.transport.auth, "bearer");
  EXPECT_EQ(o.transport.bearer, "tok");
}

TEST(JpipOptions, HeadersSeparatedByCrlf) {
  const auto h = JPIPSplitHeaders("A: 1, still A\r\nB: 2\r\n");
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0], "A: 1, still A");
  EXPECT_EQ(h[1], "B: 2");
}

TEST(JpipOptions, OpenOptionsWinOverConfigOptions) {
  config_scope c{{"JPIP_MAX_LEN", "5000"}, {"JPIP_CACHE_DIR", "/from/config"}};
  CPLStringList oo;
  oo.SetNameValue("CACHE_DIR", "/from/open");
  const auto o = JPIPClientOptions(url, oo.List());
  EXPECT_EQ(o.cache_dir, "/from/open");
  EXPECT_EQ(o.max_len, 5000u);
}

TEST(JpipOptions, ByteSizes) {
  EXPECT_EQ(JPIPParseByteSize("128MB"), 128u << 20);
  EXPECT_EQ(JPIPParseByteSize("1GB"), 1u << 30);
  EXPECT_EQ(JPIPParseByteSize("512KB"), 512u << 10);
  EXPECT_EQ(JPIPParseByteSize("-1"), 0u);
}

}  // namespace

TEST(JpipOptions, SubdatasetNamesCarryTheCodestream) {
  std::string url;
  std::uint32_t n = 99;
  ASSERT_TRUE(JPIPParseSubdatasetName("JPIP:2:jpip://h:8080/m.jpx", url, n));
  EXPECT_EQ(url, "jpip://h:8080/m.jpx");
  EXPECT_EQ(n, 2u);
  ASSERT_TRUE(JPIPParseSubdatasetName("jpip:0:jpips://h/a.jp2", url, n));
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(JPIPSubdatasetName("jpip://h/m.jpx", 7), "JPIP:7:jpip://h/m.jpx");
  for (const char* other : {"jpip://h/m.jpx", "JPIP:", "JPIP::jpip://h/m.jpx", "JPIP:x:jpip://h",
                            "JPIP:1", "JPIP:4294967296:jpip://h/m.jpx", "JPIPS:1:jpip://h"})
    EXPECT_FALSE(JPIPParseSubdatasetName(other, url, n)) << other;
}
