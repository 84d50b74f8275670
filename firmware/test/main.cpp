// doctest main that fails when a filter selects no test case: ctest runs one
// process per TEST_CASE by name, and a name doctest cannot match (doctest
// splits filters on ',', ctest lists on ';') must not pass silently.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "test_support.h"

namespace {
int gStarted = 0;

struct CountingListener : doctest::IReporter {
  explicit CountingListener(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override { ++gStarted; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};
REGISTER_LISTENER("counting", 1, CountingListener);
}  // namespace

int main(int argc, char** argv) {
  doctest::Context ctx(argc, argv);
  int rc = ctx.run();
  cptest::removeTempDirs();
  if (ctx.shouldExit()) return rc;  // --list-test-cases etc.
  if (rc == 0 && gStarted == 1 && cptest::skippedFlag()) return 77;  // ctest SKIP_RETURN_CODE
  if (rc == 0 && gStarted == 0) {
    std::fprintf(stderr, "no test case matched the filter: failing rather than passing vacuously\n");
    return 1;
  }
  return rc;
}
