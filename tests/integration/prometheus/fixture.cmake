# Included by tests/CMakeLists.txt after strata_prometheus_tests is defined:
# no server to start (the tests run prometheus-cpp's exposer on 127.0.0.1
# themselves and scrape it); their own label, so a build that leaves the
# bridge out (the ThreadSanitizer stage builds the unit tests only) runs none.
gtest_discover_tests(${target} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS prometheus TIMEOUT 300)
