//! What Intel's AMX bf16 tiles could give the engine's matrix products, beside what gemm's f32
//! AVX-512 kernel gives them now, one thread each: gemm's GFLOP/s on the products a training step
//! of `wide` makes (Winograd F(4x4, 3x3): one product per position of the 6x6 tile over a chunk
//! of tiles, the chunk bounded by the engine's `CHUNK_BUDGET`), and the AMX tiles' GFLOP/s at
//! their peak: four `tdpbf16ps` a step into four 16x16 accumulators from tiles in L1, no packing,
//! no conversion from f32, no memory traffic. The second is an upper bound that a real kernel
//! would not reach. README, "Benchmarks", says what the two figures decided.
//! `cargo run --release -p ferrite-engine --example amx_peak`

use std::time::Instant;

use ferrite_engine::{matmul, Operand};

/// Transformed tiles per chunk and the channels of each Winograd product of `wide`'s conv
/// layers after the first, batch 64 split in two parts: (tiles, cin, cout). Tiles per chunk
/// are `CHUNK_BUDGET / (tiles per row x 36 x (cin + cout))` tile rows (`layers/winograd`).
const WIDE_PRODUCTS: [(usize, usize, usize); 5] = [
    (36, 64, 64),
    (24, 64, 128),
    (18, 128, 128),
    (12, 128, 256),
    (9, 256, 256),
];

/// GFLOP/s of `c (m x n) = a (m x k) * b (k x n)` on gemm, over half a second.
fn gemm_gflops(m: usize, n: usize, k: usize) -> f64 {
    let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
    let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
    let mut c = vec![0.0f32; m * n];
    let (a, b) = (Operand::plain(&a), Operand::plain(&b));
    matmul(m, n, k, a, b, &mut c, false);
    let start = Instant::now();
    let mut reps = 0u64;
    while start.elapsed().as_secs_f64() < 0.5 {
        matmul(m, n, k, a, b, &mut c, false);
        reps += 1;
    }
    2.0 * (m * n * k) as f64 * reps as f64 / start.elapsed().as_secs_f64() / 1e9
}

fn main() {
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a thread pool of one thread");
    println!("gemm f32, one thread, the Winograd products of a `wide` training step:");
    one_thread.install(|| {
        for (tiles, cin, cout) in WIDE_PRODUCTS {
            let forward = gemm_gflops(tiles, cout, cin);
            let weight_grad = gemm_gflops(cin, cout, tiles);
            println!(
                "  {tiles:>2} tiles x {cin:>3} -> {cout:<3}  forward {forward:>6.1} GFLOP/s  \
                 weight gradient {weight_grad:>6.1} GFLOP/s"
            );
        }
    });
    match amx::peak_gflops() {
        Ok(gflops) => println!("AMX bf16 tiles, one thread, at their peak: {gflops:.1} GFLOP/s"),
        Err(why) => println!("AMX bf16 tiles: not measured ({why})"),
    }
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod amx {
    use std::arch::asm;
    use std::arch::x86_64::__cpuid_count;
    use std::time::Instant;

    /// `arch_prctl` request that lets this process use the AMX tile data (Linux 5.16+).
    const ARCH_REQ_XCOMP_PERM: libc::c_ulong = 0x1023;
    /// The tile data's state component.
    const XFEATURE_XTILEDATA: libc::c_ulong = 18;

    /// A tile configuration (`ldtilecfg`'s 64 bytes): palette 1, tiles 0-7 of 16 rows of 64 bytes.
    #[repr(C, align(64))]
    struct TileConfig([u8; 64]);

    impl TileConfig {
        fn full_tiles() -> TileConfig {
            let mut bytes = [0u8; 64];
            bytes[0] = 1;
            for tile in 0..8 {
                bytes[16 + 2 * tile] = 64;
                bytes[48 + tile] = 16;
            }
            TileConfig(bytes)
        }
    }

    /// Whether CPUID reports AMX-TILE and AMX-BF16 (leaf 7, EDX bits 24 and 22).
    fn has_amx_bf16() -> bool {
        // CPUID exists on every x86-64 processor; leaf 7 reads zeros where unsupported.
        let leaf = __cpuid_count(7, 0);
        leaf.edx & (1 << 24) != 0 && leaf.edx & (1 << 22) != 0
    }

    /// GFLOP/s of bf16 tile products into f32 accumulators, from tiles loaded from L1.
    pub fn peak_gflops() -> Result<f64, &'static str> {
        if !has_amx_bf16() {
            return Err("this processor has no AMX-BF16");
        }
        // SAFETY: a plain system call; it fails, changing nothing, where the kernel lacks AMX.
        let granted = unsafe {
            libc::syscall(
                libc::SYS_arch_prctl,
                ARCH_REQ_XCOMP_PERM,
                XFEATURE_XTILEDATA,
            )
        };
        if granted != 0 {
            return Err("the kernel does not let this process use the AMX tiles");
        }
        let config = TileConfig::full_tiles();
        // 1.0 in bf16: the products stay finite however many steps run.
        let operands = vec![0x3f80u16; 4 * 16 * 32];
        let mut accumulator = vec![0.0f32; 16 * 16];
        let stride = 64usize;
        let steps = 2_000_000u64;
        let start = Instant::now();
        // SAFETY: the processor has AMX-TILE and AMX-BF16 and the kernel granted the tile data;
        // every tile load reads 16 rows of 64 bytes inside `operands`, the store writes 16 rows
        // of 64 bytes into `accumulator`, and the tiles are released before returning.
        unsafe {
            asm!("ldtilecfg [{}]", in(reg) config.0.as_ptr());
            asm!(
                "tilezero tmm0",
                "tilezero tmm1",
                "tilezero tmm2",
                "tilezero tmm3"
            );
            let base = operands.as_ptr();
            for _ in 0..steps {
                asm!(
                    "tileloadd tmm4, [{a} + {s}*1]",
                    "tileloadd tmm5, [{b} + {s}*1]",
                    "tileloadd tmm6, [{c} + {s}*1]",
                    "tileloadd tmm7, [{d} + {s}*1]",
                    "tdpbf16ps tmm0, tmm4, tmm6",
                    "tdpbf16ps tmm1, tmm4, tmm7",
                    "tdpbf16ps tmm2, tmm5, tmm6",
                    "tdpbf16ps tmm3, tmm5, tmm7",
                    a = in(reg) base,
                    b = in(reg) base.add(512),
                    c = in(reg) base.add(1024),
                    d = in(reg) base.add(1536),
                    s = in(reg) stride,
                );
            }
            asm!("tilestored [{p} + {s}*1], tmm0", p = in(reg) accumulator.as_mut_ptr(), s = in(reg) stride);
            asm!("tilerelease");
        }
        let seconds = start.elapsed().as_secs_f64();
        assert!(accumulator[0] > 0.0, "the tile products ran");
        // Each `tdpbf16ps` is a 16x16 by 16x32 (bf16 pairs) product: 16 * 16 * 32 multiply-adds.
        Ok(steps as f64 * 4.0 * (16 * 16 * 32 * 2) as f64 / seconds / 1e9)
    }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
mod amx {
    /// AMX is measured on x86-64 Linux only.
    pub fn peak_gflops() -> Result<f64, &'static str> {
        Err("AMX is measured on x86-64 Linux only")
    }
}
