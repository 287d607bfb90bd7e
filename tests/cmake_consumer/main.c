/* Prints the version of the libmle it was linked against; fails when the
 * header it was compiled with describes another library. */
#include <stdio.h>
#include <string.h>

#include "mle.h"

#if MLE_VERSION_NUMBER != MLE_VERSION_MAJOR * 10000 + MLE_VERSION_MINOR * 100 + MLE_VERSION_PATCH
#error "MLE_VERSION_NUMBER does not match its parts"
#endif

int main(void) {
    if (mle_abi_version() != MLE_ABI_VERSION) return 1;
    if (strcmp(mle_version(), MLE_VERSION_STRING) != 0) return 2;
    printf("%s\n", mle_version());
    return 0;
}
