# Writes elfopt.1 from the command's own help, so the two cannot drift:
#
#   cmake -DELFOPT=<elfopt> -DHELP2MAN=<help2man> -DOUTPUT=<elfopt.1> -P ManPage.cmake
#
# help2man turns `elfopt --help` and `elfopt --version` into NAME, SYNOPSIS
# and DESCRIPTION; a COMMANDS section holds `elfopt help <command>` for each
# command `elfopt --help` lists, passed to help2man as an include file.
foreach(var ELFOPT HELP2MAN OUTPUT)
  if(NOT ${var})
    message(FATAL_ERROR "ManPage.cmake: -D${var}=... is required")
  endif()
endforeach()

function(run_elfopt out)
  execute_process(COMMAND "${ELFOPT}" ${ARGN} OUTPUT_VARIABLE text RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "ManPage.cmake: '${ELFOPT} ${ARGN}' failed (${status})")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# The command names: the lines under "Commands:" in the general help.
run_elfopt(help --help)
string(REGEX REPLACE ".*\nCommands:\n" "" listing "${help}")
string(REGEX REPLACE "\n\n.*" "" listing "${listing}")
string(REGEX MATCHALL "(^|\n)  [a-z-]+" names "${listing}")
list(TRANSFORM names REPLACE "^\n?  " "")
if(NOT names)
  message(FATAL_ERROR "ManPage.cmake: no commands found in 'elfopt --help'")
endif()

# Each command's usage as preformatted roff. Escaped: backslashes, "-" (a
# minus, so options can be copied from the rendered page), and lines that
# roff or help2man's include format would read as requests or headers.
set(include "[COMMANDS]\nEach command's usage, as \\fBelfopt help\\fR \\fICOMMAND\\fR prints it.\n")
foreach(name IN LISTS names)
  run_elfopt(usage help ${name})
  string(REPLACE "\\" "\\e" usage "${usage}")
  string(REPLACE "-" "\\-" usage "${usage}")
  string(REGEX REPLACE "(^|\n)([.'[/])" "\\1\\\\&\\2" usage "${usage}")
  string(APPEND include ".SS ${name}\n.nf\n${usage}.fi\n")
endforeach()
string(APPEND include [=[
[SEE ALSO]
The profile format: profile-format.md in elfopt's documentation directory
(share/doc/elfopt under the installation prefix).
.PP
CMake projects: find_package(elfopt) and elfopt_optimize(), described in
lib/cmake/elfopt/ElfoptOptimize.cmake.
]=])
file(WRITE "${OUTPUT}.h2m" "${include}")

execute_process(
  COMMAND "${HELP2MAN}" --no-info --section 1
          --name "post-link optimizer for x86-64 ELF executables and shared libraries"
          --include "${OUTPUT}.h2m" --output "${OUTPUT}" "${ELFOPT}"
  RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "ManPage.cmake: help2man failed (${status})")
endif()
