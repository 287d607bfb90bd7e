/* Internal to libmle: shared by the Go exports and the C wrappers. */
#ifndef MLE_INTERNAL_H
#define MLE_INTERNAL_H

#include "mle.h"

struct mle_error {
    mle_status status;
    char *message;
};

#endif
