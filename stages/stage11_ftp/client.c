/* stage11-client — being written. */
#include <stdio.h>
int main(void)
{
    fprintf(stderr, "stage11-client: not written yet\n");
    return 1;
}
