# The one map from source folders (src/<component>/) to installable targets.
# Every folder under src/ except cli and python (the bindings: src/python/CMakeLists.txt)
# must be listed here; a new file in a listed folder is picked up by the glob
# (CONFIGURE_DEPENDS), a new folder stops the configure step until it is given a
# target. The layering in
# docs/architecture.md ("Allowed dependencies") keeps core free of hub code.
#
#   core   error, version, file, safetensors, config, plan, load: libstdc++ + liburing
#   hub    + util, transport, faults, cache, cache_manage, transfer, hub, remote: + libcurl, OpenSSL, fmt
#   serve  + serve: + cpp-httplib
set(HUBLOAD_COMPONENTS_core error version file safetensors config plan load)
set(HUBLOAD_COMPONENTS_hub transport faults cache cache_manage transfer hub remote)
set(HUBLOAD_COMPONENTS_serve serve)
set(HUBLOAD_TARGETS core hub serve)
# Private helpers that more than one target calls (serve and hub both use util's
# digests). Their symbols are hidden in every shared library, so each shared
# library that needs them carries its own copy; the static libraries hold them
# once, in hub.
set(HUBLOAD_PRIVATE_HELPERS util)

# hubload_component_sources(OUT target): the .cpp files of every folder mapped to
# target, and those generated for it (cmake/HubloadEmbed.cmake).
function(hubload_component_sources out target)
  set(sources "")
  foreach(component IN LISTS HUBLOAD_COMPONENTS_${target})
    file(GLOB_RECURSE found CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${component}/*.cpp)
    get_property(generated GLOBAL PROPERTY HUBLOAD_GENERATED_SOURCES_${component})
    list(APPEND sources ${found} ${generated})
  endforeach()
  set(${out} ${sources} PARENT_SCOPE)
endfunction()

# Fails the configure step for a folder under src/ that no target lists.
function(hubload_check_component_map)
  set(mapped cli python ${HUBLOAD_PRIVATE_HELPERS})
  foreach(target IN LISTS HUBLOAD_TARGETS)
    list(APPEND mapped ${HUBLOAD_COMPONENTS_${target}})
  endforeach()
  file(GLOB entries CONFIGURE_DEPENDS LIST_DIRECTORIES true RELATIVE ${PROJECT_SOURCE_DIR}/src
       ${PROJECT_SOURCE_DIR}/src/*)
  foreach(entry IN LISTS entries)
    if(IS_DIRECTORY ${PROJECT_SOURCE_DIR}/src/${entry} AND NOT entry IN_LIST mapped)
      message(FATAL_ERROR "src/${entry}/ belongs to no library target: add it to a "
                          "HUBLOAD_COMPONENTS_* list in cmake/HubloadComponents.cmake")
    endif()
  endforeach()
endfunction()

# hubload_add_objects(name sources... COMPILE libs...): an object library compiled
# once, position independent, hidden visibility, for both kinds of library.
function(hubload_add_objects name)
  cmake_parse_arguments(ARG "" "" "COMPILE" ${ARGN})
  add_library(${name} OBJECT ${ARG_UNPARSED_ARGUMENTS})
  set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON
                        CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/include
                             ${PROJECT_BINARY_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PRIVATE hubload_options Threads::Threads ${ARG_COMPILE})
endfunction()

# hubload_add_helper(name COMPILE libs...): one of HUBLOAD_PRIVATE_HELPERS.
function(hubload_add_helper name)
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cpp)
  hubload_add_objects(hubload_${name}_objects ${sources} ${ARGN})
endfunction()

# hubload_add_library(target [COMPILE libs...] [LINK libs...] [DEPENDS targets...]
#                     [HELPERS names...] [SHARED_HELPERS names...]):
# the sources compiled once (position independent, hidden visibility) into an
# object library, then packaged twice from the same objects: hubload_<target>
# (shared, versioned SONAME, exported as hubload::<target>) and
# hubload_<target>_static (exported as hubload::<target>_static). COMPILE
# libraries are needed by the objects only (header-only ones); LINK libraries
# are private to the shared library and link-only for the static one; DEPENDS
# are sibling targets, public. HELPERS go into both libraries, SHARED_HELPERS into
# the shared one only (the static one finds them in a sibling).
function(hubload_add_library target)
  cmake_parse_arguments(ARG "" "" "LINK;COMPILE;DEPENDS;HELPERS;SHARED_HELPERS" ${ARGN})
  hubload_component_sources(sources ${target})
  set(objects hubload_${target}_objects)
  hubload_add_objects(${objects} ${sources} COMPILE ${ARG_COMPILE} ${ARG_LINK})
  set(both $<TARGET_OBJECTS:${objects}>)
  foreach(helper IN LISTS ARG_HELPERS)
    list(APPEND both $<TARGET_OBJECTS:hubload_${helper}_objects>)
  endforeach()
  set(shared_only "")
  foreach(helper IN LISTS ARG_SHARED_HELPERS)
    list(APPEND shared_only $<TARGET_OBJECTS:hubload_${helper}_objects>)
  endforeach()

  add_library(hubload_${target} SHARED ${both} ${shared_only})
  add_library(hubload_${target}_static STATIC ${both})
  set_target_properties(hubload_${target} PROPERTIES EXPORT_NAME ${target} OUTPUT_NAME hubload_${target}
                        VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  set_target_properties(hubload_${target}_static PROPERTIES EXPORT_NAME ${target}_static
                        OUTPUT_NAME hubload_${target})
  foreach(lib hubload_${target} hubload_${target}_static)
    target_include_directories(${lib} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                               $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
                               $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
    target_compile_features(${lib} PUBLIC cxx_std_20)
    target_link_libraries(${lib} PUBLIC Threads::Threads PRIVATE $<BUILD_INTERFACE:hubload_options> ${ARG_LINK})
  endforeach()
  foreach(dep IN LISTS ARG_DEPENDS)
    target_link_libraries(hubload_${target} PUBLIC hubload_${dep})
    target_link_libraries(hubload_${target}_static PUBLIC hubload_${dep}_static)
  endforeach()
  if(NOT HUBLOAD_SANITIZE AND NOT HUBLOAD_FUZZ)
    # A symbol that a sibling library hides (a public header without its
    # visibility push) fails here rather than in a consumer's program.
    target_link_options(hubload_${target} PRIVATE LINKER:--no-undefined)
  endif()
  add_library(hubload::${target} ALIAS hubload_${target})
  add_library(hubload::${target}_static ALIAS hubload_${target}_static)
endfunction()
