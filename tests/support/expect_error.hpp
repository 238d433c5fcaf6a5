#pragma once
// Checks that a call throws a given exception with a given message, for the suites that
// test error messages word for word.
#include <boost/test/unit_test.hpp>
#include <exception>
#include <functional>
#include <string>

namespace tapegrad::test {

/// Runs f, which must throw E, and returns its message ("" and a failure otherwise).
template <class E>
std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    BOOST_ERROR("wrong exception type; message: " << e.what());
    return {};
  }
  BOOST_ERROR("no exception thrown");
  return {};
}

/// f must throw E with a message that starts with `start`.
template <class E>
void expect_error(const std::function<void()>& f, const std::string& start) {
  const std::string msg = message_of<E>(f);
  BOOST_TEST(msg.starts_with(start), "expected a message starting '" << start << "', got: " << msg);
}

}  // namespace tapegrad::test
