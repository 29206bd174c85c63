#if canImport(Glibc)
import Glibc
#endif

/// The process's heap, as the C library keeps it.
public enum HeapMemory {
    #if canImport(Glibc)
    private typealias Trim = @convention(c) (Int) -> Int32
    /// glibc's `malloc_trim`, looked up once (malloc.h is not in Swift's Glibc module).
    private static let trim: Trim? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim")
        .map { unsafeBitCast($0, to: Trim.self) }
    #endif

    /// Gives memory that was freed back to the system. glibc keeps what a thread freed in that thread's arena for the
    /// same thread to reuse: a large project's YAML, parsed and decoded on every CPU and freed once its sites are read,
    /// would otherwise stay resident while another thread expands and plans (about 80 MB of a 100k-resource plan's
    /// peak). Costs a walk of the free lists: call it once after such a phase, not per allocation.
    public static func returnFreed() {
        #if canImport(Glibc)
        _ = trim?(0)
        #endif
    }
}
