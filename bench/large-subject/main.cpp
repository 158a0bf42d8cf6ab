// Benchmark subject for bench/inspect-large.sh and bench/record-overhead.sh:
// a real program linked from Debian's static LLVM 19 libraries.
//
// `llvm-large` (no argument; inspect-large.sh) does a small, fixed amount of
// real, deterministic work: parses a small IR module, runs the O2 pipeline on
// it and prints the optimized IR; compiles it to x86-64 assembly and to an
// in-memory ELF object, lists that object's symbols with llvm::object and
// symbolizes them with llvm::symbolize; round-trips the module through
// bitcode; builds a small ELF object from YAML (the yaml2obj library) and
// reads it back; and finally JIT-compiles the module with ORC LLJIT and calls
// @ten(). Its output must not change: make-large-subject.sh checks it.
//
// `llvm-large N` (record-overhead.sh) does work that scales with N: it
// generates an IR module of N "units" (each: an integer loop with a switch and
// a call chain, a floating-point loop, an array loop plus explicit vector ops,
// a 64/128-bit bit-twiddling loop over a global, a dense switch, and a
// noinline driver), then for each of several targets (x86-64, AArch64,
// RISC-V with V, ARM, PowerPC64LE, SystemZ, MIPS64, WebAssembly, LoongArch,
// SPARC V9) parses it afresh, verifies it, runs that target's O2 pipeline,
// emits assembly and an object file and reads the object back; finally it
// round-trips the x86-64 optimized module through bitcode and JITs it
// (ORC LLJIT) to compute a checksum. Other backends touch many functions the
// x86-64 path never does. It prints one summary line per target (sizes and
// FNV-1a hashes of the emitted asm and object), deterministic for a given N.
//
// All targets are initialized, so the static link pulls in every backend
// (that is what makes the binary large).
#include "llvm/AsmParser/Parser.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/DebugInfo/Symbolize/Symbolize.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/ThreadSafeModule.h"
#include "llvm/Object/ObjectFile.h"
#include "llvm/ObjectYAML/yaml2obj.h"
#include "llvm/Transforms/Utils/Cloning.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

static const char *kYAML = R"YAML(
--- !ELF
FileHeader:
  Class:   ELFCLASS64
  Data:    ELFDATA2LSB
  Type:    ET_REL
  Machine: EM_X86_64
Sections:
  - Name:    .text
    Type:    SHT_PROGBITS
    Flags:   [ SHF_ALLOC, SHF_EXECINSTR ]
    Content: B81D010000C3
Symbols:
  - Name:    ten
    Type:    STT_FUNC
    Section: .text
    Binding: STB_GLOBAL
    Size:    6
)YAML";

static const char *kIR = R"IR(
define internal i32 @square(i32 %x) {
  %r = mul i32 %x, %x
  ret i32 %r
}

define i32 @sum_squares(i32 %n) {
entry:
  br label %loop
loop:
  %i = phi i32 [ 0, %entry ], [ %i.next, %loop ]
  %acc = phi i32 [ 0, %entry ], [ %acc.next, %loop ]
  %sq = call i32 @square(i32 %i)
  %acc.next = add i32 %acc, %sq
  %i.next = add i32 %i, 1
  %done = icmp sge i32 %i.next, %n
  br i1 %done, label %exit, label %loop
exit:
  ret i32 %acc.next
}

define i32 @ten() {
  %v = call i32 @sum_squares(i32 10)
  ret i32 %v
}
)IR";

// ---- `llvm-large N`: the scalable workload --------------------------------

static bool isCount(const char *s) {
  if (!*s || std::strlen(s) > 6)
    return false;
  for (const char *p = s; *p; ++p)
    if (*p < '0' || *p > '9')
      return false;
  unsigned long v = std::strtoul(s, nullptr, 10);
  return v >= 1 && v <= 100000;
}

static uint64_t fnv1a(llvm::StringRef bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes.bytes())
    h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// Exact IR spelling of a double (hex bit pattern: no rounding questions).
static std::string irDouble(double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%016llX", static_cast<unsigned long long>(bits));
  return buf;
}

// The IR of N units plus @run(i32), which calls every unit and mixes results.
static std::string workloadIR(unsigned n) {
  std::string ir;
  llvm::raw_string_ostream os(ir);
  for (unsigned i = 0; i < n; ++i) {
    const unsigned c1 = 2654435761u * (i + 1) | 1, c2 = 40503u * (i + 3);
    const unsigned sh = 1 + i % 13, rot = 3 + i % 27;
    // Integer loop: switch over i % 5, one case calls the previous unit's
    // function (a call chain the inliner has to decide about).
    os << "define i32 @ia" << i << "(i32 %n, i32 %seed) {\n"
       << "entry:\n  br label %loop\n"
       << "loop:\n"
       << "  %i = phi i32 [ 0, %entry ], [ %i.next, %latch ]\n"
       << "  %acc = phi i32 [ %seed, %entry ], [ %acc.next, %latch ]\n"
       << "  %k = urem i32 %i, 5\n"
       << "  switch i32 %k, label %c4 [\n"
       << "    i32 0, label %c0\n    i32 1, label %c1\n"
       << "    i32 2, label %c2\n    i32 3, label %c3\n  ]\n"
       << "c0:\n  %a0 = mul i32 %acc, " << c1 << "\n  br label %latch\n"
       << "c1:\n  %a1x = xor i32 %acc, %i\n  %a1 = add i32 %a1x, " << c2
       << "\n  br label %latch\n";
    if (i > 0)
      os << "c2:\n  %a2 = call i32 @ia" << i - 1 << "(i32 3, i32 %acc)\n";
    else
      os << "c2:\n  %a2 = sub i32 %acc, 7\n";
    os << "  br label %latch\n"
       << "c3:\n  %a3s = shl i32 %acc, " << sh << "\n  %a3 = or i32 %a3s, %k\n"
       << "  br label %latch\n"
       << "c4:\n  %a4 = call i32 @llvm.fshl.i32(i32 %acc, i32 %acc, i32 " << rot
       << ")\n  br label %latch\n"
       << "latch:\n"
       << "  %acc.next = phi i32 [ %a0, %c0 ], [ %a1, %c1 ], [ %a2, %c2 ], "
          "[ %a3, %c3 ], [ %a4, %c4 ]\n"
       << "  %i.next = add nuw nsw i32 %i, 1\n"
       << "  %done = icmp sge i32 %i.next, %n\n"
       << "  br i1 %done, label %exit, label %loop\n"
       << "exit:\n  ret i32 %acc.next\n}\n\n";

    // Floating-point loop (no libm calls: the JIT resolves none).
    os << "define double @fb" << i << "(double %x, i32 %n) {\n"
       << "entry:\n  br label %loop\n"
       << "loop:\n"
       << "  %i = phi i32 [ 0, %entry ], [ %i.next, %loop ]\n"
       << "  %acc = phi double [ %x, %entry ], [ %acc.next, %loop ]\n"
       << "  %fi = sitofp i32 %i to double\n"
       << "  %t = fmul double %acc, " << irDouble(0.75 + i * 0.001) << "\n"
       << "  %u = fadd double %t, %fi\n"
       << "  %ua = call double @llvm.fabs.f64(double %u)\n"
       << "  %s = call double @llvm.sqrt.f64(double %ua)\n"
       << "  %v = fadd double %s, " << irDouble(1.0 / (i + 3)) << "\n"
       << "  %w = fmul double %v, " << irDouble(0.3 + (i % 7) * 0.05) << "\n"
       << "  %y = fadd double %w, %acc\n"
       << "  %q = fdiv double %y, " << irDouble(1.5 + (i % 5) * 0.25) << "\n"
       << "  %lt = fcmp olt double %q, %fi\n"
       << "  %acc.next = select i1 %lt, double %q, double %t\n"
       << "  %i.next = add nuw nsw i32 %i, 1\n"
       << "  %done = icmp sge i32 %i.next, %n\n"
       << "  br i1 %done, label %exit, label %loop\n"
       << "exit:\n  ret double %acc.next\n}\n\n";

    // Array loop (vectorizable) followed by explicit vector operations.
    os << "define i32 @vc" << i << "(ptr %p, i64 %n) {\n"
       << "entry:\n  br label %loop\n"
       << "loop:\n"
       << "  %j = phi i64 [ 0, %entry ], [ %j.next, %loop ]\n"
       << "  %s = phi i32 [ 0, %entry ], [ %s.next, %loop ]\n"
       << "  %g = getelementptr inbounds i32, ptr %p, i64 %j\n"
       << "  %x = load i32, ptr %g, align 4\n"
       << "  %y = mul i32 %x, " << (c2 | 1) << "\n"
       << "  %z = xor i32 %x, " << c1 << "\n"
       << "  store i32 %z, ptr %g, align 4\n"
       << "  %s.next = add i32 %s, %y\n"
       << "  %j.next = add nuw nsw i64 %j, 1\n"
       << "  %done = icmp eq i64 %j.next, %n\n"
       << "  br i1 %done, label %exit, label %loop\n"
       << "exit:\n"
       << "  %sf = sitofp i32 %s.next to float\n"
       << "  %v0 = insertelement <4 x float> poison, float %sf, i64 0\n"
       << "  %v1 = shufflevector <4 x float> %v0, <4 x float> poison, <4 x i32> zeroinitializer\n"
       << "  %v2 = fmul <4 x float> %v1, <float 1.5, float 2.5, float -0.5, float 0.25>\n"
       << "  %v3 = fadd <4 x float> %v2, <float 1.0, float 2.0, float 3.0, float "
       << (i % 9) << ".0>\n"
       << "  %v4 = shufflevector <4 x float> %v3, <4 x float> %v2, <4 x i32> <i32 3, i32 6, i32 1, i32 4>\n"
       << "  %vi = bitcast <4 x float> %v4 to <4 x i32>\n"
       << "  %vx = xor <4 x i32> %vi, <i32 " << c1 << ", i32 " << c2
       << ", i32 " << i << ", i32 7>\n"
       << "  %vm = call <4 x i32> @llvm.umin.v4i32(<4 x i32> %vx, <4 x i32> <i32 -1, i32 "
       << c2 << ", i32 65535, i32 " << c1 << ">)\n"
       << "  %r = call i32 @llvm.vector.reduce.add.v4i32(<4 x i32> %vm)\n"
       << "  %h = trunc <4 x i32> %vm to <4 x i16>\n"
       << "  %hm = call i16 @llvm.vector.reduce.umax.v4i16(<4 x i16> %h)\n"
       << "  %hz = zext i16 %hm to i32\n"
       << "  %r2 = add i32 %r, %hz\n"
       << "  %ret = add i32 %r2, %s.next\n"
       << "  ret i32 %ret\n}\n\n";

    // 64/128-bit bit twiddling over a global table.
    os << "@gd" << i << " = internal global [16 x i64] zeroinitializer, align 16\n\n"
       << "define i64 @bd" << i << "(i64 %x) {\n"
       << "entry:\n  br label %loop\n"
       << "loop:\n"
       << "  %j = phi i64 [ 0, %entry ], [ %j.next, %loop ]\n"
       << "  %h = phi i64 [ %x, %entry ], [ %h.next, %loop ]\n"
       << "  %p = call i64 @llvm.ctpop.i64(i64 %h)\n"
       << "  %b = call i64 @llvm.bswap.i64(i64 %h)\n"
       << "  %m = mul i64 %b, " << (uint64_t(c1) << 21 | 0x9e37) << "\n"
       << "  %c = icmp ugt i64 %m, %h\n"
       << "  %hx = xor i64 %h, %p\n"
       << "  %sel = select i1 %c, i64 %m, i64 %hx\n"
       << "  %mx = call i64 @llvm.umax.i64(i64 %sel, i64 %j)\n"
       << "  %g = getelementptr inbounds [16 x i64], ptr @gd" << i << ", i64 0, i64 %j\n"
       << "  %old = load i64, ptr %g, align 8\n"
       << "  %new = add i64 %old, %mx\n"
       << "  store i64 %new, ptr %g, align 8\n"
       << "  %sr = lshr i64 %mx, " << 17 + i % 23 << "\n"
       << "  %h.next = xor i64 %mx, %sr\n"
       << "  %j.next = add nuw nsw i64 %j, 1\n"
       << "  %done = icmp eq i64 %j.next, 16\n"
       << "  br i1 %done, label %exit, label %loop\n"
       << "exit:\n"
       << "  %w = zext i64 %h.next to i128\n"
       << "  %w2 = mul i128 %w, " << (uint64_t(c2) << 32 | c1) << "\n"
       << "  %hi = lshr i128 %w2, 64\n"
       << "  %t = trunc i128 %hi to i64\n"
       << "  %r = xor i64 %t, %h.next\n"
       << "  ret i64 %r\n}\n\n";

    // Dense switch with non-constant cases (a jump table, not a lookup table).
    os << "define i32 @sw" << i << "(i32 %x) {\n"
       << "entry:\n  %m = and i32 %x, 15\n  switch i32 %m, label %def [\n";
    for (unsigned k = 0; k < 12; ++k)
      os << "    i32 " << k << ", label %b" << k << "\n";
    os << "  ]\n";
    static const char *const kOps[] = {"add", "mul", "xor", "sub", "or", "shl"};
    for (unsigned k = 0; k < 12; ++k)
      os << "b" << k << ":\n  %r" << k << " = " << kOps[(k + i) % 6] << " i32 %x, "
         << (k + i) % 29 + 1 << "\n  ret i32 %r" << k << "\n";
    os << "def:\n  ret i32 %x\n}\n\n";

    // The unit's driver: fills a stack array, calls the above, mixes results.
    os << "define i64 @unit" << i << "(i32 %seed) noinline {\n"
       << "entry:\n  %arr = alloca [32 x i32], align 16\n  br label %init\n"
       << "init:\n"
       << "  %j = phi i64 [ 0, %entry ], [ %j.next, %init ]\n"
       << "  %j32 = trunc i64 %j to i32\n"
       << "  %v = mul i32 %j32, %seed\n"
       << "  %v2 = add i32 %v, " << i << "\n"
       << "  %g = getelementptr inbounds [32 x i32], ptr %arr, i64 0, i64 %j\n"
       << "  store i32 %v2, ptr %g, align 4\n"
       << "  %j.next = add nuw nsw i64 %j, 1\n"
       << "  %d = icmp eq i64 %j.next, 32\n"
       << "  br i1 %d, label %body, label %init\n"
       << "body:\n"
       << "  %a = call i32 @ia" << i << "(i32 7, i32 %seed)\n"
       << "  %sd = sitofp i32 %seed to double\n"
       << "  %b = call double @fb" << i << "(double %sd, i32 9)\n"
       << "  %c = call i32 @vc" << i << "(ptr %arr, i64 32)\n"
       << "  %a64 = zext i32 %a to i64\n"
       << "  %dd = call i64 @bd" << i << "(i64 %a64)\n"
       << "  %e = call i32 @sw" << i << "(i32 %a)\n"
       << "  %bb = bitcast double %b to i64\n"
       << "  %c64 = zext i32 %c to i64\n"
       << "  %e64 = zext i32 %e to i64\n"
       << "  %x1 = xor i64 %bb, %dd\n"
       << "  %x2 = mul i64 %x1, 31\n"
       << "  %x3 = add i64 %x2, %c64\n"
       << "  %x4 = shl i64 %e64, 17\n"
       << "  %x5 = xor i64 %x3, %x4\n"
       << "  ret i64 %x5\n}\n\n";
  }
  os << "define i64 @run(i32 %seed) {\nentry:\n";
  std::string acc = "0";
  for (unsigned i = 0; i < n; ++i) {
    os << "  %u" << i << " = call i64 @unit" << i << "(i32 %seed)\n"
       << "  %m" << i << " = mul i64 " << acc << ", 1099511628211\n"
       << "  %s" << i << " = xor i64 %m" << i << ", %u" << i << "\n";
    acc = "%s" + std::to_string(i);
  }
  os << "  ret i64 " << acc << "\n}\n";
  return ir;
}

struct WorkTarget {
  const char *triple, *cpu, *features;
};

static const WorkTarget kWorkTargets[] = {
    {"x86_64-unknown-linux-gnu", "x86-64-v3", ""},
    {"aarch64-unknown-linux-gnu", "neoverse-n1", ""},
    {"riscv64-unknown-linux-gnu", "generic-rv64", "+m,+a,+f,+d,+c,+v"},
    {"armv7a-unknown-linux-gnueabihf", "cortex-a9", "+neon"},
    {"powerpc64le-unknown-linux-gnu", "pwr9", ""},
    {"s390x-unknown-linux-gnu", "z15", ""},
    {"mips64el-unknown-linux-gnuabi64", "mips64r2", ""},
    {"wasm32-unknown-unknown", "generic", "+simd128"},
    {"loongarch64-unknown-linux-gnu", "la464", ""},
    {"sparcv9-unknown-linux-gnu", "v9", ""},
};

// Parse, verify, optimize (O2) and compile the workload for one target;
// prints one summary line. On x86-64, also hands back the optimized bitcode.
static bool compileFor(const WorkTarget &wt, const std::string &ir,
                       llvm::SmallVectorImpl<char> *bitcodeOut) {
  llvm::LLVMContext ctx;
  llvm::SMDiagnostic err;
  std::unique_ptr<llvm::Module> m = llvm::parseAssemblyString(ir, err, ctx);
  if (!m) {
    err.print("workload", llvm::errs());
    return false;
  }
  std::string terr;
  const llvm::Target *t = llvm::TargetRegistry::lookupTarget(wt.triple, terr);
  if (!t) {
    llvm::errs() << wt.triple << ": " << terr << "\n";
    return false;
  }
  std::unique_ptr<llvm::TargetMachine> tm(t->createTargetMachine(
      wt.triple, wt.cpu, wt.features, llvm::TargetOptions(), llvm::Reloc::PIC_));
  if (!tm) {
    llvm::errs() << wt.triple << ": no target machine\n";
    return false;
  }
  m->setTargetTriple(wt.triple);
  m->setDataLayout(tm->createDataLayout());
  if (llvm::verifyModule(*m, &llvm::errs()))
    return false;

  {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PassBuilder pb(tm.get());
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O2).run(*m, mam);
  }
  unsigned defined = 0, insts = 0;
  for (const llvm::Function &f : *m)
    if (!f.isDeclaration()) {
      ++defined;
      insts += f.getInstructionCount();
    }
  if (bitcodeOut) {
    llvm::BitcodeWriter bcw(*bitcodeOut);
    bcw.writeModule(*m);
    bcw.writeSymtab();
    bcw.writeStrtab();
  }

  std::unique_ptr<llvm::Module> objModule = llvm::CloneModule(*m);
  llvm::SmallString<0> asmText, objText;
  llvm::raw_svector_ostream asmOS(asmText), objOS(objText);
  llvm::legacy::PassManager cgAsm, cgObj;
  if (tm->addPassesToEmitFile(cgAsm, asmOS, nullptr,
                              llvm::CodeGenFileType::AssemblyFile) ||
      tm->addPassesToEmitFile(cgObj, objOS, nullptr,
                              llvm::CodeGenFileType::ObjectFile)) {
    llvm::errs() << wt.triple << ": cannot emit asm or objects\n";
    return false;
  }
  cgAsm.run(*m);
  cgObj.run(*objModule);

  auto obj = llvm::object::ObjectFile::createObjectFile(
      llvm::MemoryBufferRef(objText.str(), "workload.o"));
  if (!obj) {
    llvm::errs() << wt.triple << ": " << llvm::toString(obj.takeError()) << "\n";
    return false;
  }
  unsigned syms = 0, funcs = 0, sections = 0;
  for (const llvm::object::SymbolRef &sym : (*obj)->symbols()) {
    ++syms;
    llvm::Expected<llvm::object::SymbolRef::Type> ty = sym.getType();
    if (ty && *ty == llvm::object::SymbolRef::ST_Function)
      ++funcs;
    else if (!ty)
      llvm::consumeError(ty.takeError());
  }
  for (const llvm::object::SectionRef &sec : (*obj)->sections()) {
    (void)sec;
    ++sections;
  }
  const size_t asmLines = llvm::StringRef(asmText).count('\n');
  char line[512];
  std::snprintf(line, sizeof line,
                "; %-32s %-12s O2: %5u functions %7u insts; asm %7zu lines "
                "fnv %016llx; obj %-10s %8zu bytes %3u sections %5u symbols "
                "(%u functions) fnv %016llx\n",
                wt.triple, wt.cpu, defined, insts, asmLines,
                static_cast<unsigned long long>(fnv1a(asmText)),
                (*obj)->getFileFormatName().str().c_str(), objText.size(),
                sections, syms, funcs,
                static_cast<unsigned long long>(fnv1a(objText)));
  llvm::outs() << line;
  return true;
}

static int runWorkload(unsigned n) {
  const std::string ir = workloadIR(n);
  llvm::outs() << "; workload N=" << n << ": " << ir.size() << " bytes of IR, "
               << 6 * n + 1 << " functions, fnv "
               << llvm::format_hex_no_prefix(fnv1a(ir), 16) << "\n";
  llvm::SmallVector<char, 0> x86Bitcode;
  for (const WorkTarget &wt : kWorkTargets)
    if (!compileFor(wt, ir, &wt == &kWorkTargets[0] ? &x86Bitcode : nullptr))
      return 1;

  // JIT the x86-64 O2 module (via a bitcode round trip) and run it.
  auto jit = llvm::orc::LLJITBuilder().create();
  if (!jit) {
    llvm::errs() << llvm::toString(jit.takeError()) << "\n";
    return 1;
  }
  auto jitCtx = std::make_unique<llvm::LLVMContext>();
  auto jm = llvm::parseBitcodeFile(
      llvm::MemoryBufferRef(llvm::StringRef(x86Bitcode.data(), x86Bitcode.size()),
                            "workload.bc"),
      *jitCtx);
  if (!jm) {
    llvm::errs() << llvm::toString(jm.takeError()) << "\n";
    return 1;
  }
  if (llvm::Error e = (*jit)->addIRModule(
          llvm::orc::ThreadSafeModule(std::move(*jm), std::move(jitCtx)))) {
    llvm::errs() << llvm::toString(std::move(e)) << "\n";
    return 1;
  }
  auto run = (*jit)->lookup("run");
  if (!run) {
    llvm::errs() << llvm::toString(run.takeError()) << "\n";
    return 1;
  }
  auto *fn = run->toPtr<uint64_t (*)(int32_t)>();
  llvm::outs() << "; JIT (" << x86Bitcode.size() << " bytes of bitcode): run(1) = "
               << llvm::format_hex(fn(1), 18) << ", run(12345) = "
               << llvm::format_hex(fn(12345), 18) << "\n";
  return 0;
}

int main(int argc, char **argv) {
  llvm::InitializeAllTargetInfos();
  llvm::InitializeAllTargets();
  llvm::InitializeAllTargetMCs();
  llvm::InitializeAllAsmPrinters();
  llvm::InitializeAllAsmParsers();
  llvm::InitializeAllDisassemblers();

  if (argc > 2 || (argc == 2 && !isCount(argv[1]))) {
    llvm::errs() << "usage: " << argv[0] << " [N]   (N: workload size, 1..100000)\n";
    return 1;
  }
  if (argc == 2)
    return runWorkload(static_cast<unsigned>(std::strtoul(argv[1], nullptr, 10)));

  llvm::LLVMContext ctx;
  llvm::SMDiagnostic err;
  std::unique_ptr<llvm::Module> m = llvm::parseAssemblyString(kIR, err, ctx);
  if (!m) {
    err.print("subject", llvm::errs());
    return 1;
  }

  const std::string triple = "x86_64-unknown-linux-gnu";
  std::string terr;
  const llvm::Target *t = llvm::TargetRegistry::lookupTarget(triple, terr);
  if (!t) {
    llvm::errs() << terr << "\n";
    return 1;
  }
  std::unique_ptr<llvm::TargetMachine> tm(t->createTargetMachine(
      triple, "x86-64", "", llvm::TargetOptions(), llvm::Reloc::PIC_));
  m->setTargetTriple(triple);
  m->setDataLayout(tm->createDataLayout());

  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(tm.get());
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O2).run(*m, mam);

  llvm::outs() << "; ---- optimized IR ----\n" << *m;

  llvm::SmallString<4096> asmText;
  llvm::raw_svector_ostream asmOS(asmText);
  llvm::legacy::PassManager cg;
  if (tm->addPassesToEmitFile(cg, asmOS, nullptr,
                              llvm::CodeGenFileType::AssemblyFile)) {
    llvm::errs() << "target cannot emit assembly\n";
    return 1;
  }
  cg.run(*m);
  llvm::outs() << "; ---- x86-64 assembly ----\n" << asmText << "\n";

  // A copy of the optimized module as an ELF object, read back with
  // llvm::object (codegen mutates IR, hence the copy).
  std::unique_ptr<llvm::Module> objModule = llvm::CloneModule(*m);
  llvm::SmallString<4096> objText;
  llvm::raw_svector_ostream objOS(objText);
  llvm::legacy::PassManager cgObj;
  if (tm->addPassesToEmitFile(cgObj, objOS, nullptr,
                              llvm::CodeGenFileType::ObjectFile)) {
    llvm::errs() << "target cannot emit objects\n";
    return 1;
  }
  cgObj.run(*objModule);
  auto obj = llvm::object::ObjectFile::createObjectFile(
      llvm::MemoryBufferRef(objText.str(), "subject.o"));
  if (!obj) {
    llvm::errs() << llvm::toString(obj.takeError()) << "\n";
    return 1;
  }
  llvm::outs() << "; ---- object symbols (" << (*obj)->getFileFormatName()
               << ") ----\n";
  llvm::symbolize::LLVMSymbolizer symbolizer;
  for (const llvm::object::SymbolRef &sym : (*obj)->symbols()) {
    llvm::Expected<llvm::StringRef> name = sym.getName();
    if (!name) {
      llvm::consumeError(name.takeError());
      continue;
    }
    if (name->empty())
      continue;
    llvm::outs() << "; " << *name;
    llvm::Expected<uint64_t> addr = sym.getAddress();
    llvm::Expected<llvm::object::section_iterator> sec = sym.getSection();
    if (addr && sec && *sec != (*obj)->section_end()) {
      llvm::Expected<llvm::DILineInfo> info = symbolizer.symbolizeCode(
          **obj, {*addr, (*sec)->getIndex()});
      if (info)
        llvm::outs() << " -> symbolized as " << info->FunctionName;
      else
        llvm::consumeError(info.takeError());
    }
    if (!addr)
      llvm::consumeError(addr.takeError());
    if (!sec)
      llvm::consumeError(sec.takeError());
    llvm::outs() << "\n";
  }

  // Bitcode round trip of the optimized module.
  llvm::SmallVector<char, 0> bc;
  llvm::BitcodeWriter bcw(bc);
  bcw.writeModule(*m);
  bcw.writeSymtab();
  bcw.writeStrtab();
  llvm::LLVMContext bcCtx;
  auto bcMod = llvm::parseBitcodeFile(
      llvm::MemoryBufferRef(llvm::StringRef(bc.data(), bc.size()), "bc"),
      bcCtx);
  if (!bcMod) {
    llvm::errs() << llvm::toString(bcMod.takeError()) << "\n";
    return 1;
  }
  llvm::outs() << "; ---- bitcode ----\n; " << bc.size() << " bytes, "
               << (*bcMod)->size() << " functions after round trip\n";

  // yaml2obj: an ELF object equivalent to @ten, from YAML.
  llvm::SmallVector<char, 0> yamlStorage;
  std::unique_ptr<llvm::object::ObjectFile> yobj = llvm::yaml::yaml2ObjectFile(
      yamlStorage, kYAML, [](const llvm::Twine &msg) {
        llvm::errs() << "yaml2obj: " << msg << "\n";
      });
  if (!yobj)
    return 1;
  llvm::outs() << "; ---- yaml2obj ----\n; " << yamlStorage.size()
               << " bytes (" << yobj->getFileFormatName() << ")";
  for (const llvm::object::SymbolRef &sym : yobj->symbols())
    if (llvm::Expected<llvm::StringRef> name = sym.getName())
      llvm::outs() << ", symbol " << *name;
    else
      llvm::consumeError(name.takeError());
  llvm::outs() << "\n";

  // JIT the optimized module and call @ten().
  auto jit = llvm::orc::LLJITBuilder().create();
  if (!jit) {
    llvm::errs() << llvm::toString(jit.takeError()) << "\n";
    return 1;
  }
  auto jitCtx = std::make_unique<llvm::LLVMContext>();
  std::unique_ptr<llvm::Module> jm =
      llvm::parseAssemblyString(kIR, err, *jitCtx);
  if (!jm) {
    err.print("subject", llvm::errs());
    return 1;
  }
  if (llvm::Error e = (*jit)->addIRModule(
          llvm::orc::ThreadSafeModule(std::move(jm), std::move(jitCtx)))) {
    llvm::errs() << llvm::toString(std::move(e)) << "\n";
    return 1;
  }
  auto ten = (*jit)->lookup("ten");
  if (!ten) {
    llvm::errs() << llvm::toString(ten.takeError()) << "\n";
    return 1;
  }
  llvm::outs() << "; ---- JIT ----\n; ten() = "
               << ten->toPtr<int (*)()>()() << "\n";
  return 0;
}
