#ifndef FRAUDSTREAM_CHIREDIS_SHIM_H
#define FRAUDSTREAM_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#endif
