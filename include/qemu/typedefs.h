/*
 * typedefs.h: typedefs shared by many headers, so that a header can name a
 * type without including the header that defines it.
 */
#ifndef QBLOCK_QEMU_TYPEDEFS_H
#define QBLOCK_QEMU_TYPEDEFS_H

typedef struct AioContext AioContext;
typedef struct Coroutine Coroutine;
typedef struct Error Error;
typedef struct HBitmap HBitmap;
typedef struct HBitmapIter HBitmapIter;
typedef struct QEMUBH QEMUBH;
typedef struct QEMUIOVector QEMUIOVector;
typedef struct QEMUTimer QEMUTimer;
typedef struct ThreadPool ThreadPool;

#endif /* QBLOCK_QEMU_TYPEDEFS_H */
