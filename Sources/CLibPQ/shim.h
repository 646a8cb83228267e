#ifndef HUIFANG_CLIBPQ_SHIM_H
#define HUIFANG_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
