# tests/guests/HvabsGuests.cmake: build flat guest binaries (x86 and arm64) from GNU as sources.
#
# hvabs_add_guest(<name> ARCH x86|arm64 MODE real|prot32|long64|el1 SOURCE <file.S>
#                 OUTPUT_DIR <dir> [VCPUS <n>] [DEFS <sym=value>...] [OUT_VAR <var>])
# assembles <file.S> (include path: src/ and the generated hvabs_guest_abi.inc), links it at
# the load address of its arch (HVABS_GUEST_X86_LOAD / HVABS_GUEST_ARM64_LOAD) and writes the
# flat binary <dir>/<name>.bin (its path in <var>).
#
# hvabs_guest_enums(<arch> <mode> <arch_var> <mode_var>): the enum hvabs_arch / hvabs_cpu_mode
# names for an ARCH/MODE pair.
include_guard(DIRECTORY)

set(HVABS_GUEST_SRC_DIR ${CMAKE_CURRENT_LIST_DIR}/src CACHE INTERNAL "guest program sources")
set(HVABS_GUEST_ABI_H ${PROJECT_SOURCE_DIR}/backends/sim/engine/sim_engine_abi.h CACHE INTERNAL "guest ABI header")
set(HVABS_GUEST_GEN_DIR ${PROJECT_BINARY_DIR}/hvabs_guests/include CACHE INTERNAL "generated guest includes")

# ---- toolchains ----

if(CMAKE_HOST_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set(_x86_names_as x86_64-linux-gnu-as as)
  set(_x86_names_ld x86_64-linux-gnu-ld ld)
  set(_x86_names_oc x86_64-linux-gnu-objcopy objcopy)
else()
  set(_x86_names_as x86_64-linux-gnu-as)
  set(_x86_names_ld x86_64-linux-gnu-ld)
  set(_x86_names_oc x86_64-linux-gnu-objcopy)
endif()
if(CMAKE_HOST_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
  set(_a64_names_as aarch64-linux-gnu-as as)
  set(_a64_names_ld aarch64-linux-gnu-ld ld)
  set(_a64_names_oc aarch64-linux-gnu-objcopy objcopy)
else()
  set(_a64_names_as aarch64-linux-gnu-as)
  set(_a64_names_ld aarch64-linux-gnu-ld)
  set(_a64_names_oc aarch64-linux-gnu-objcopy)
endif()
find_program(HVABS_X86_AS NAMES ${_x86_names_as})
find_program(HVABS_X86_LD NAMES ${_x86_names_ld})
find_program(HVABS_X86_OBJCOPY NAMES ${_x86_names_oc})
find_program(HVABS_A64_AS NAMES ${_a64_names_as})
find_program(HVABS_A64_LD NAMES ${_a64_names_ld})
find_program(HVABS_A64_OBJCOPY NAMES ${_a64_names_oc})
if(NOT HVABS_X86_AS OR NOT HVABS_X86_LD OR NOT HVABS_X86_OBJCOPY)
  message(FATAL_ERROR "hvabs guests: x86 binutils not found (as, ld, objcopy): "
                      "apt-get install binutils (binutils-x86-64-linux-gnu on other hosts)")
endif()
if(NOT HVABS_A64_AS OR NOT HVABS_A64_LD OR NOT HVABS_A64_OBJCOPY)
  message(FATAL_ERROR "hvabs guests: arm64 binutils not found (aarch64-linux-gnu-as, -ld, "
                      "-objcopy): apt-get install binutils-aarch64-linux-gnu")
endif()

# ---- the ABI header as GNU as .equ lines ----

function(_hvabs_guest_gen_inc)
  file(STRINGS ${HVABS_GUEST_ABI_H} all_defs REGEX "^#define HVABS_GUEST_")
  set(re "^#define (HVABS_GUEST_[A-Z0-9_]+)[ \t]+((0x[0-9a-fA-F]+)|([0-9]+))[ \t]*$")
  set(body "/* Generated from backends/sim/engine/sim_engine_abi.h: do not edit. */\n")
  foreach(d IN LISTS all_defs)
    if(NOT d MATCHES "${re}")
      message(FATAL_ERROR "sim_engine_abi.h: \"${d}\" is not \"#define HVABS_GUEST_NAME number\"")
    endif()
    string(APPEND body "\t.equ ${CMAKE_MATCH_1}, ${CMAKE_MATCH_2}\n")
    set(${CMAKE_MATCH_1} ${CMAKE_MATCH_2} PARENT_SCOPE)
  endforeach()
  file(CONFIGURE OUTPUT ${HVABS_GUEST_GEN_DIR}/hvabs_guest_abi.inc CONTENT "${body}" @ONLY)
endfunction()
_hvabs_guest_gen_inc()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${HVABS_GUEST_ABI_H})
set(HVABS_GUEST_ABI_INC ${HVABS_GUEST_GEN_DIR}/hvabs_guest_abi.inc)

# ---- one guest ----

function(hvabs_guest_enums arch mode arch_var mode_var)
  if(arch STREQUAL "x86")
    set(${arch_var} HVABS_ARCH_X86_64 PARENT_SCOPE)
  elseif(arch STREQUAL "arm64")
    set(${arch_var} HVABS_ARCH_ARM64 PARENT_SCOPE)
  else()
    message(FATAL_ERROR "hvabs guests: ARCH must be x86 or arm64, not \"${arch}\"")
  endif()
  if(mode STREQUAL "el1" AND arch STREQUAL "arm64")
    set(${mode_var} HVABS_CPU_MODE_ARM64_EL1 PARENT_SCOPE)
  elseif(mode MATCHES "^(real|prot32|long64)$" AND arch STREQUAL "x86")
    string(TOUPPER "${mode}" m)
    set(${mode_var} HVABS_CPU_MODE_X86_${m} PARENT_SCOPE)
  else()
    message(FATAL_ERROR "hvabs guests: MODE \"${mode}\" is not a mode of ${arch}")
  endif()
endfunction()

function(hvabs_add_guest name)
  cmake_parse_arguments(G "" "ARCH;MODE;SOURCE;OUTPUT_DIR;OUT_VAR" "DEFS" ${ARGN})
  hvabs_guest_enums(${G_ARCH} ${G_MODE} arch_enum mode_enum)
  set(obj ${G_OUTPUT_DIR}/obj/${name}.o)
  set(elf ${G_OUTPUT_DIR}/obj/${name}.elf)
  set(bin ${G_OUTPUT_DIR}/${name}.bin)
  set(src ${HVABS_GUEST_SRC_DIR}/${G_SOURCE})
  set(defs "")
  foreach(d IN LISTS G_DEFS)
    list(APPEND defs --defsym ${d})
  endforeach()
  if(G_ARCH STREQUAL "x86")
    set(as ${HVABS_X86_AS})
    set(ld ${HVABS_X86_LD})
    set(oc ${HVABS_X86_OBJCOPY})
    set(load ${HVABS_GUEST_X86_LOAD})
    if(G_MODE STREQUAL "long64")
      set(asflags --64)
      set(ldflags -m elf_x86_64)
    else()
      set(asflags --32)
      set(ldflags -m elf_i386)
    endif()
  else()
    set(as ${HVABS_A64_AS})
    set(ld ${HVABS_A64_LD})
    set(oc ${HVABS_A64_OBJCOPY})
    set(load ${HVABS_GUEST_ARM64_LOAD})
    set(asflags "")
    set(ldflags "")
  endif()
  add_custom_command(OUTPUT ${bin}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${G_OUTPUT_DIR}/obj
    COMMAND ${as} ${asflags} ${defs} -I ${HVABS_GUEST_SRC_DIR} -I ${HVABS_GUEST_GEN_DIR}
            -o ${obj} ${src}
    COMMAND ${ld} ${ldflags} -nostdlib -e _start -Ttext=${load} -z noexecstack -o ${elf} ${obj}
    COMMAND ${oc} -O binary -j .text ${elf} ${bin}
    DEPENDS ${src} ${HVABS_GUEST_ABI_INC} ${HVABS_GUEST_SRC_DIR}/x86.inc
            ${HVABS_GUEST_SRC_DIR}/arm64.inc
    COMMENT "Assembling guest ${name}.bin"
    VERBATIM)
  if(G_OUT_VAR)
    set(${G_OUT_VAR} ${bin} PARENT_SCOPE)
  endif()
endfunction()
