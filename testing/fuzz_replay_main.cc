// The main() of a fuzz target in ordinary builds: it runs the target's
// LLVMFuzzerTestOneInput over every file of the corpus directories (or
// files) named on its command line, so that each seed keeps being checked
// by the test suite in every configuration. Built with --config=fuzz, the
// same target links libFuzzer's main instead (bazel/fuzz.bzl).

#include <dirent.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::vector<std::string> FilesUnder(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) return {};
  if (!S_ISDIR(info.st_mode)) return {path};
  std::vector<std::string> files;
  if (DIR* dir = opendir(path.c_str())) {
    while (dirent* entry = readdir(dir)) {
      const std::string name = entry->d_name;
      if (name == "." || name == "..") continue;
      for (std::string& file : FilesUnder(path + "/" + name)) files.push_back(std::move(file));
    }
    closedir(dir);
  }
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 0;
  for (int i = 1; i < argc; ++i) {
    for (const std::string& file : FilesUnder(argv[i])) {
      std::ifstream in(file, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      ++runs;
    }
  }
  std::printf("replayed %d inputs\n", runs);
  if (runs == 0) {
    std::fprintf(stderr, "no corpus: give the directories of seed inputs as arguments\n");
    return 1;
  }
  return 0;
}
