# Warnings applied to every Junction target (not to third-party code).
add_library(junction_warnings INTERFACE)
target_compile_options(junction_warnings INTERFACE -Wall -Wextra -Wpedantic
  -Wnon-virtual-dtor -Wimplicit-fallthrough
  # Designated initializers that leave members at their defaults are idiomatic here.
  -Wno-missing-field-initializers)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(junction_warnings INTERFACE -Wshadow=local)
  # g++ 12 at -O3 reports false -Wrestrict overlaps inside std::string's operator+
  # (GCC bug 105329); the warning stays on for other compilers.
  if(CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(junction_warnings INTERFACE -Wno-restrict)
  endif()
endif()
if(JUNCTION_WERROR)
  target_compile_options(junction_warnings INTERFACE -Werror)
endif()
