// Benchmark subject for bench/inspect-large.sh: a real program linked from
// Debian's static LLVM 19 libraries. It does real, deterministic work:
// parses a small IR module, runs the O2 pipeline on it and prints the
// optimized IR; compiles it to x86-64 assembly and to an in-memory ELF object,
// lists that object's symbols with llvm::object and symbolizes them with
// llvm::symbolize; round-trips the module through bitcode; builds a small
// ELF object from YAML (the yaml2obj library) and reads it back; and finally JIT-compiles the
// module with ORC LLJIT and calls @ten(). All targets are initialized, so the
// static link pulls in every backend (that is what makes the binary large).
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
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include <memory>

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

int main() {
  llvm::InitializeAllTargetInfos();
  llvm::InitializeAllTargets();
  llvm::InitializeAllTargetMCs();
  llvm::InitializeAllAsmPrinters();
  llvm::InitializeAllAsmParsers();
  llvm::InitializeAllDisassemblers();

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
