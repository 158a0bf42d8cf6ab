# elfopt as a post-build step.
#
#   find_package(elfopt REQUIRED)  # an installed elfopt (lib/cmake/elfopt), or
#   include(ElfoptOptimize)        # with this directory on CMAKE_MODULE_PATH
#   elfopt_optimize(<target>
#                   [PROFILE <file>...]       recorded profiles (elfopt record)
#                   [ORDER <file>]            or an order (elfopt order)
#                   [DYNSORT] [GNU_HASH] [HASHVALS]
#                   [MIN_MATCH_RATE <r>])     stale-profile threshold (0.5)
#
# Links <target> with -Wl,--emit-relocs (what `elfopt rewrite` needs) and
# adds a POST_BUILD step that rewrites the linked file in place. Profiles are
# usually from an earlier build: functions are matched by name, the match
# rate is reported, and the build fails below MIN_MATCH_RATE (record a new
# profile then). Profile or order files that do not exist yet (the first
# build, before anything was recorded) are skipped with a message, so the
# same CMakeLists works before and after recording.
#
# ELFOPT_EXECUTABLE names the elfopt binary: with find_package, the one
# installed with this file; with include(), found on PATH.
# Set ELFOPT_DISABLE=ON to build without the post-build step.

find_program(ELFOPT_EXECUTABLE elfopt)
option(ELFOPT_DISABLE "Do not run elfopt after linking" OFF)

function(elfopt_optimize target)
  cmake_parse_arguments(ARG "DYNSORT;GNU_HASH;HASHVALS" "ORDER;MIN_MATCH_RATE" "PROFILE" ${ARGN})
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "elfopt_optimize(${target}): unknown arguments ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(ARG_PROFILE AND ARG_ORDER)
    message(FATAL_ERROR "elfopt_optimize(${target}): give PROFILE or ORDER, not both")
  endif()
  target_link_options(${target} PRIVATE "LINKER:--emit-relocs")
  if(ELFOPT_DISABLE)
    return()
  endif()
  if(NOT ELFOPT_EXECUTABLE)
    message(FATAL_ERROR "elfopt_optimize(${target}): elfopt not found; set ELFOPT_EXECUTABLE")
  endif()

  set(args)
  set(profiles)
  foreach(profile IN LISTS ARG_PROFILE)
    if(EXISTS "${profile}")
      list(APPEND profiles --profile "${profile}")
    else()
      message(STATUS "elfopt_optimize(${target}): no profile ${profile} yet; not reordering")
    endif()
  endforeach()
  if(profiles)
    if(NOT ARG_MIN_MATCH_RATE)
      set(ARG_MIN_MATCH_RATE 0.5)
    endif()
    list(APPEND args ${profiles} --allow-mismatch --min-match-rate ${ARG_MIN_MATCH_RATE})
  endif()
  if(ARG_ORDER)
    if(EXISTS "${ARG_ORDER}")
      list(APPEND args --order "${ARG_ORDER}")
    else()
      message(STATUS "elfopt_optimize(${target}): no order ${ARG_ORDER} yet; not reordering")
    endif()
  endif()
  if(ARG_DYNSORT)
    list(APPEND args --dynsort)
    if(ARG_GNU_HASH)
      list(APPEND args --gnu-hash=optimize)
    endif()
  elseif(ARG_GNU_HASH)
    message(FATAL_ERROR "elfopt_optimize(${target}): GNU_HASH needs DYNSORT")
  endif()
  if(ARG_HASHVALS)
    list(APPEND args --hashvals)
  endif()
  if(NOT args)
    return() # nothing to do yet
  endif()
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND "${ELFOPT_EXECUTABLE}" rewrite "$<TARGET_FILE:${target}>" --in-place ${args}
    COMMENT "elfopt: optimizing ${target}"
    VERBATIM)
endfunction()
