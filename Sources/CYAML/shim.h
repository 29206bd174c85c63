#ifndef OTTO_CYAML_SHIM_H
#define OTTO_CYAML_SHIM_H
#include <yaml.h>
#endif
