# sx_add_connector(<id> SOURCES <files...> [LIBRARIES <libs...>])
#
# Builds a connector plugin <id>.so the way the hub expects it: no "lib" prefix, the file name
# equal to the connector id, only sx_connector_entry exported (-fvisibility=hidden), and every
# symbol resolved at link time (-z defs) so a stray reference to a host symbol is a link error.
# In the Simplix tree the .so lands in <build>/plugins; installed, it uses SX_PLUGIN_OUTPUT_DIR
# when set.
function(sx_add_connector id)
  cmake_parse_arguments(SXC "" "" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT id MATCHES "^[a-z0-9_]+$")
    message(FATAL_ERROR "connector id '${id}' must match [a-z0-9_]+")
  endif()
  add_library(${id} MODULE ${SXC_SOURCES})
  set_target_properties(${id} PROPERTIES
    PREFIX ""
    OUTPUT_NAME ${id}
    C_VISIBILITY_PRESET hidden
    C_STANDARD 11)
  if(SX_PLUGIN_OUTPUT_DIR)
    set_target_properties(${id} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${SX_PLUGIN_OUTPUT_DIR})
  endif()
  if(SX_SDK_INCLUDE_DIR)
    target_include_directories(${id} PRIVATE ${SX_SDK_INCLUDE_DIR})
  endif()
  target_link_options(${id} PRIVATE "LINKER:-z,defs")
  if(SXC_LIBRARIES)
    target_link_libraries(${id} PRIVATE ${SXC_LIBRARIES})
  endif()
endfunction()
