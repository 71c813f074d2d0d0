# Verifier hardening: the negative corpus, its generator and CLI checks.
# Included from tests/CMakeLists.txt (after ob_unit is defined).

# Regenerates tests/vectors/negative from tests/vectors/keys; never run by
# the tests (ECDSA signatures are randomized, the committed corpus is what
# the tests replay):
#   gen_negative tests/vectors/keys tests/vectors/negative
add_executable(gen_negative vectors/gen_negative.c vectors/gen_common.c)
ob_target(gen_negative)
target_include_directories(gen_negative PRIVATE
                           ${CMAKE_CURRENT_SOURCE_DIR}/vectors)
target_link_libraries(gen_negative PRIVATE ob_core)

ob_unit(test_negative)

# The same corpus through the command-line verifier: exit 1 and the
# error name in the --json rejection.
add_test(NAME cli_negative
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/vectors/cli-negative.sh
                 $<TARGET_FILE:ownerbind-verify-cli>
                 ${CMAKE_CURRENT_SOURCE_DIR}/vectors/negative)
