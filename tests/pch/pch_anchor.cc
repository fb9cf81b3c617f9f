// The one source of sluice_test_pch: the target that compiles the test
// suite's precompiled header (tests/CMakeLists.txt), which every gtest
// executable then reuses. Nothing here is linked into anything.
