/* Prints the version of the libmle it was linked against. */
#include <stdio.h>

#include "mle.h"

int main(void) {
    if (mle_abi_version() != MLE_ABI_VERSION) return 1;
    printf("%s\n", mle_version());
    return 0;
}
