// Resolution choice and region mapping (docs/jpip-notes.md §7.1-7.3 worked examples).
#include <gtest/gtest.h>

#include "pipit/view_window.hpp"

namespace {

using namespace pipit;

const image_geometry g256{256, 256, 0, 0, 3};  // g_plt.j2k: 256x256, NL=3

resolution_choice choose(const image_geometry& g, std::uint32_t fx, std::uint32_t fy,
                         round_direction d = round_direction::round_down) {
  return choose_resolution(g, frame_size{fx, fy, d});
}

TEST(ViewWindow, FrameSizesPerDiscardLevel) {
  EXPECT_EQ(frame_at(g256, 0), (resolution_choice{0, 256, 256}));
  EXPECT_EQ(frame_at(g256, 3), (resolution_choice{3, 32, 32}));
  const image_geometry odd{1001, 601, 3, 1, 2};
  EXPECT_EQ(frame_at(odd, 0), (resolution_choice{0, 998, 600}));
  EXPECT_EQ(frame_at(odd, 1), (resolution_choice{1, 499, 300}));  // 501-2, 301-1
  EXPECT_EQ(frame_at(odd, 2), (resolution_choice{2, 250, 150}));  // 251-1, 151-1
}

TEST(ViewWindow, WorkedExamplesOfSection7_1) {
  EXPECT_EQ(choose(g256, 100, 100), (resolution_choice{2, 64, 64}));
  EXPECT_EQ(choose(g256, 100, 100, round_direction::round_up), (resolution_choice{1, 128, 128}));
  EXPECT_EQ(choose(g256, 100, 100, round_direction::closest), (resolution_choice{2, 64, 64}));
  EXPECT_EQ(choose(g256, 1000, 1000), (resolution_choice{0, 256, 256}));
  EXPECT_EQ(choose(g256, 10, 10, round_direction::round_up), (resolution_choice{3, 32, 32}));
  EXPECT_EQ(choose(g256, 10, 10), (resolution_choice{3, 32, 32}));  // round-down fallback
}

TEST(ViewWindow, RoundingRulesAndFallbacks) {
  EXPECT_EQ(choose(g256, 1000, 1000, round_direction::round_up).discard_levels, 0u);  // largest
  EXPECT_EQ(choose(g256, 128, 128).discard_levels, 1u);  // exact fits both ways
  EXPECT_EQ(choose(g256, 128, 128, round_direction::round_up).discard_levels, 1u);
  EXPECT_EQ(choose(g256, 256, 100).discard_levels, 2u);  // both dimensions must fit
  EXPECT_EQ(choose(g256, 256, 100, round_direction::round_up).discard_levels, 0u);
  EXPECT_EQ(choose(g256, 100, 30, round_direction::round_up).discard_levels, 1u);
  EXPECT_EQ(choose(g256, 0, 0).discard_levels, 3u);
  EXPECT_EQ(choose(g256, 0, 0, round_direction::round_up).discard_levels, 3u);
  // closest: area 3 is as near to 4x1 as to 2x1; the tie goes to the larger frame.
  const image_geometry strip{4, 1, 0, 0, 1};
  EXPECT_EQ(choose(strip, 3, 1, round_direction::closest), (resolution_choice{0, 4, 1}));
  EXPECT_EQ(choose(g256, 4294967295u, 4294967295u, round_direction::closest).discard_levels, 0u);
  const image_geometry single{256, 256, 0, 0, 0};
  EXPECT_EQ(choose(single, 10, 10), (resolution_choice{0, 256, 256}));
}

TEST(ViewWindow, WorkedExampleOfSection7_3) {
  served_window w = map_view_window(g256, {128, 128}, point{64, 64}, point{32, 32});
  EXPECT_EQ(w.resolution, (resolution_choice{1, 128, 128}));
  EXPECT_EQ(w.roff, (point{64, 64}));
  EXPECT_EQ(w.rsiz, (point{32, 32}));
  EXPECT_FALSE(w.fsiz_changed || w.roff_changed || w.rsiz_changed);
  EXPECT_EQ(w.grid_region(g256), (rect{64, 64, 96, 96}));

  w = map_view_window(g256, {64, 64}, std::nullopt, std::nullopt);
  EXPECT_EQ(w.resolution.discard_levels, 2u);
  EXPECT_EQ(w.rsiz, (point{64, 64}));
  EXPECT_FALSE(w.fsiz_changed || w.roff_changed || w.rsiz_changed);

  const image_geometry rgb{512, 384, 0, 0, 3};  // rgb_t.j2k
  w = map_view_window(rgb, {256, 192}, point{120, 0}, point{20, 20});
  EXPECT_EQ(w.resolution, (resolution_choice{1, 256, 192}));
  EXPECT_EQ(w.grid_region(rgb), (rect{120, 0, 140, 20}));
}

TEST(ViewWindow, RegionIsScaledIntoTheChosenFrame) {
  served_window w = map_view_window(g256, {100, 100}, point{10, 10}, point{50, 50});
  EXPECT_EQ(w.resolution.discard_levels, 2u);
  EXPECT_EQ(w.roff, (point{6, 6}));    // floor(10*64/100)
  EXPECT_EQ(w.rsiz, (point{33, 33}));  // ceil(60*64/100) = 39, minus 6
  EXPECT_TRUE(w.fsiz_changed && w.roff_changed && w.rsiz_changed);

  w = map_view_window(g256, {100, 100, round_direction::round_up}, point{10, 10}, point{50, 50});
  EXPECT_EQ(w.resolution.discard_levels, 1u);
  EXPECT_EQ(w.roff, (point{12, 12}));
  EXPECT_EQ(w.rsiz, (point{65, 65}));  // ceil(7680/100) = 77, minus 12
}

TEST(ViewWindow, DefaultsAndClipping) {
  served_window w = map_view_window(g256, {100, 100}, point{50, 0}, std::nullopt);
  EXPECT_EQ(w.roff, (point{32, 0}));
  EXPECT_EQ(w.rsiz, (point{32, 64}));  // the rest of the frame
  EXPECT_TRUE(w.roff_changed);
  EXPECT_FALSE(w.rsiz_changed);  // not sent, so not reported

  w = map_view_window(g256, {256, 256}, point{200, 200}, point{100, 100});
  EXPECT_EQ(w.roff, (point{200, 200}));
  EXPECT_EQ(w.rsiz, (point{56, 56}));
  EXPECT_FALSE(w.fsiz_changed || w.roff_changed);
  EXPECT_TRUE(w.rsiz_changed);

  const image_geometry offset{1001, 601, 3, 1, 2};
  w = map_view_window(offset, {499, 300}, point{10, 20}, point{5, 5});
  EXPECT_EQ(w.resolution.discard_levels, 1u);
  EXPECT_EQ(w.grid_region(offset), (rect{12, 21, 17, 26}));  // ceil(3/2)+10, ceil(1/2)+20
}

TEST(ViewWindow, EmptyRegionsAreNotErrors) {
  served_window w = map_view_window(g256, {256, 256}, point{300, 0}, point{10, 10});
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(w.roff, (point{256, 0}));
  EXPECT_EQ(w.rsiz, (point{0, 0}));
  EXPECT_TRUE(w.roff_changed && w.rsiz_changed);

  w = map_view_window(g256, {256, 256}, std::nullopt, point{0, 5});
  EXPECT_TRUE(w.empty());
  EXPECT_TRUE(w.grid_region(g256).empty());

  w = map_view_window(g256, {0, 0}, std::nullopt, std::nullopt);
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(w.resolution.discard_levels, 3u);
  EXPECT_TRUE(w.fsiz_changed);
}

TEST(ViewWindow, ExtremeNumbersDoNotOverflow) {
  served_window w = map_view_window(g256, {4294967295u, 4294967295u}, point{4294967294u, 0},
                                    point{4294967295u, 4294967295u});
  EXPECT_EQ(w.resolution.discard_levels, 0u);
  EXPECT_EQ(w.roff, (point{255, 0}));
  EXPECT_EQ(w.rsiz, (point{1, 256}));
  const image_geometry huge{4294967295u, 4294967295u, 4294967294u, 0, 32};
  EXPECT_EQ(frame_at(huge, 32), (resolution_choice{32, 0, 1}));
  EXPECT_EQ(frame_at(huge, 0).fx, 1u);
}

}  // namespace
