#pragma once
/// \file
/// TAPEGRAD_API: marks the declarations that make up tapegrad's public ABI.
///
/// The library is compiled with hidden symbol visibility (-fvisibility=hidden), so a
/// shared libtapegrad.so exports exactly the classes and functions marked here. A
/// static build defines TAPEGRAD_STATIC (the CMake target passes it on to users),
/// which only matters on Windows, where the macro becomes dllexport / dllimport.

#if defined(_WIN32) && !defined(TAPEGRAD_STATIC)
#if defined(TAPEGRAD_BUILDING_LIBRARY)
#define TAPEGRAD_API __declspec(dllexport)
#else
#define TAPEGRAD_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define TAPEGRAD_API __attribute__((visibility("default")))
#else
#define TAPEGRAD_API
#endif
