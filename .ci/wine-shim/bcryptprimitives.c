/* A stand-in for Windows' bcryptprimitives.dll under Wine 8.0, which lacks it. Rust's standard library (since
 * 1.78) takes its random numbers from ProcessPrng there; without this a Rust .exe exits with status 53 before
 * main. ProcessPrng is implemented with RtlGenRandom (advapi32's SystemFunction036), which Wine has.
 * Built by .ci/wine-run with x86_64-w64-mingw32-gcc; used for tests under Wine only, never shipped. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
