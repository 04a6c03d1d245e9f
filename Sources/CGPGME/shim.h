#ifndef ROOKERY_CGPGME_SHIM_H
#define ROOKERY_CGPGME_SHIM_H
#include <gpgme.h>
#endif
