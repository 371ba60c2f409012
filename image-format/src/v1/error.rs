//! Every reason a reader refuses an image, one variant each.

/// Why an image (or a restoring CPU) was refused. `name()` is a short,
/// stable identifier used in messages, tests and FORMAT.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatError {
    /// Input shorter than the layout says, or the file was cut short.
    Truncated,
    /// The file is longer than the header says.
    TrailingData,
    /// Offset 0 does not hold the image magic.
    BadMagic,
    /// Major version other than 1.
    UnknownMajorVersion,
    /// Header CRC32C mismatch.
    HeaderChecksum,
    /// Architecture other than x86-64.
    UnsupportedArch,
    /// Page size other than 4096.
    UnsupportedPageSize,
    /// Header flag bits this reader does not know.
    UnknownHeaderFlags,
    /// A reserved field is not zero.
    ReservedNotZero,
    /// Nanoseconds field >= 1e9.
    BadTimestamp,
    /// Header offsets/lengths do not describe one consistent file layout.
    LayoutInconsistent,
    /// Metadata larger than MAX_METADATA_LEN.
    MetadataOverLimit,
    /// CRC32C of the whole metadata range does not match the header.
    MetadataChecksum,
    /// A section's own CRC32C mismatch.
    SectionChecksum,
    /// A section's length runs past the end of the metadata.
    SectionOverrun,
    /// Section flag bits this reader does not know.
    UnknownSectionFlags,
    /// Section kinds not strictly increasing (covers duplicates).
    SectionsOutOfOrder,
    /// A section kind this reader does not know, not marked optional.
    UnknownRequiredSection,
    /// A section that may only appear in the tail appears in the metadata.
    MisplacedSection,
    /// A required v1 section is absent.
    MissingSection,
    /// A section's record size is not the one v1 defines.
    BadRecordSize,
    /// A section's payload length does not match count * record size.
    SectionSizeMismatch,
    /// A count is over its limit (threads, regions, runs, fds, auxv, sections).
    CountOverLimit,
    /// A string reference points outside the string table.
    StringOutOfBounds,
    /// A string is not followed by a NUL.
    StringNotTerminated,
    /// A string contains a NUL before its end.
    StringContainsNul,
    /// A path longer than MAX_PATH_LEN.
    PathTooLong,
    /// A path is required (file mapping, reopened fd) but empty.
    MissingPath,
    /// pid or tid is 0 or above PID_MAX_LIMIT.
    BadPid,
    /// umask with bits outside 0o777.
    BadUmask,
    /// A resource limit with cur > max.
    BadRlimit,
    /// mm layout fields out of order or outside user space.
    BadMmLayout,
    /// XCR0 without x87 and SSE, the features every x86-64 XSAVE area has.
    BadXcr0,
    /// XSAVE size outside MIN_XSAVE_SIZE..=MAX_XSAVE_SIZE.
    BadXsaveSize,
    /// An auxv entry with type AT_NULL (the terminator is implied).
    BadAuxv,
    /// No thread records.
    NoThreads,
    /// Thread ids not strictly increasing (covers duplicates).
    ThreadsUnsortedOrDuplicate,
    /// cs is not the 64-bit user code selector 0x33.
    BadCodeSegment,
    /// ss is not the user data selector 0x2b.
    BadStackSegment,
    /// ds/es/fs/gs neither 0 nor an RPL-3 selector.
    BadDataSegment,
    /// rip, rsp, fs_base or gs_base not canonical.
    NonCanonicalRegister,
    /// eflags has bits that user mode cannot set.
    BadEflags,
    /// A thread's XSAVE length differs from the process's.
    XsaveSizeMismatch,
    /// Recorded xstate_bv differs from the one inside the XSAVE header.
    XstateBvMismatch,
    /// xstate_bv has features outside the recorded XCR0.
    XstateBvNotInXcr0,
    /// XSAVE header: compacted format or reserved bytes set.
    BadXsaveHeader,
    /// MXCSR with reserved bits set (would fault on restore).
    BadMxcsr,
    /// sigaltstack flags outside SS_ONSTACK/SS_DISABLE/SS_AUTODISARM.
    BadSigaltstack,
    /// rseq length neither 0 nor >= 32.
    BadRseq,
    /// Signal action the kernel would refuse (SIGKILL/SIGSTOP handler, bad address).
    BadSigaction,
    /// A value that must be page aligned is not.
    Misaligned,
    /// Region with start >= end.
    EmptyRegion,
    /// Region ends above USER_SPACE_END.
    RegionOutsideUserSpace,
    /// Regions not sorted by address or overlapping.
    RegionsOverlapOrUnsorted,
    /// Protection bits other than r/w/x.
    BadProt,
    /// Region kind this reader does not know.
    UnknownRegionKind,
    /// Region flag bits this reader does not know.
    UnknownRegionFlags,
    /// Region flags contradict each other or the kind.
    InconsistentRegionFlags,
    /// More than one heap, vdso, vvar or vvar_vclock region.
    DuplicateSpecialRegion,
    /// Stored pages in a region whose contents the kernel provides (vvar).
    PagesNotAllowed,
    /// A region's first_run/run_count do not follow the previous region's.
    PageRunIndexMismatch,
    /// Page run with zero pages.
    EmptyPageRun,
    /// Page run extends past its region.
    PageRunOutsideRegion,
    /// Page runs of a region not sorted or overlapping.
    PageRunsOverlapOrUnsorted,
    /// Page run file offset is not where the packed layout puts it.
    PageRunOffsetMismatch,
    /// Page run extends past the page data range.
    PageRunOutsideFile,
    /// Sum of stored pages differs from the header's page data length.
    PageDataLengthMismatch,
    /// fd number at or above MAX_FD_NUMBER.
    FdOutOfRange,
    /// fd numbers not strictly increasing (covers duplicates).
    FdsUnsortedOrDuplicate,
    /// fd kind this reader does not know.
    UnknownFdKind,
    /// fd disposition this reader does not know.
    UnknownFdDisposition,
    /// Inherit disposition on an fd other than 0-2.
    BadFdDisposition,
    /// fd close-on-exec field neither 0 nor 1.
    BadCloexec,
    /// fd offset above i64::MAX.
    BadFdOffset,
    /// Trailer does not start with the trailer magic.
    BadTrailerMagic,
    /// Trailer CRC32C mismatch.
    TrailerChecksum,
    /// Trailer disagrees with the header (length, CRCs, run count).
    TrailerMismatch,
    /// CRC32C of the page-CRC table does not match the trailer.
    TailChecksum,
    /// Page-CRC table has the wrong kind, count or record size.
    BadPageCrcTable,
    /// A page run's data does not match its CRC32C.
    PageChecksum,
    /// Buffer passed to page verification is too small or not page sized.
    BadBuffer,
    /// The restoring CPU lacks XSAVE features the image uses.
    CpuMissingFeatures,
    /// The restoring CPU's XSAVE area is smaller than the image's.
    CpuXsaveTooSmall,
}

impl FormatError {
    /// Every variant, for tools that list them and for tests.
    pub const ALL: [FormatError; 83] = {
        use FormatError::*;
        [
            Truncated,
            TrailingData,
            BadMagic,
            UnknownMajorVersion,
            HeaderChecksum,
            UnsupportedArch,
            UnsupportedPageSize,
            UnknownHeaderFlags,
            ReservedNotZero,
            BadTimestamp,
            LayoutInconsistent,
            MetadataOverLimit,
            MetadataChecksum,
            SectionChecksum,
            SectionOverrun,
            UnknownSectionFlags,
            SectionsOutOfOrder,
            UnknownRequiredSection,
            MisplacedSection,
            MissingSection,
            BadRecordSize,
            SectionSizeMismatch,
            CountOverLimit,
            StringOutOfBounds,
            StringNotTerminated,
            StringContainsNul,
            PathTooLong,
            MissingPath,
            BadPid,
            BadUmask,
            BadRlimit,
            BadMmLayout,
            BadXcr0,
            BadXsaveSize,
            BadAuxv,
            NoThreads,
            ThreadsUnsortedOrDuplicate,
            BadCodeSegment,
            BadStackSegment,
            BadDataSegment,
            NonCanonicalRegister,
            BadEflags,
            XsaveSizeMismatch,
            XstateBvMismatch,
            XstateBvNotInXcr0,
            BadXsaveHeader,
            BadMxcsr,
            BadSigaltstack,
            BadRseq,
            BadSigaction,
            Misaligned,
            EmptyRegion,
            RegionOutsideUserSpace,
            RegionsOverlapOrUnsorted,
            BadProt,
            UnknownRegionKind,
            UnknownRegionFlags,
            InconsistentRegionFlags,
            DuplicateSpecialRegion,
            PagesNotAllowed,
            PageRunIndexMismatch,
            EmptyPageRun,
            PageRunOutsideRegion,
            PageRunsOverlapOrUnsorted,
            PageRunOffsetMismatch,
            PageRunOutsideFile,
            PageDataLengthMismatch,
            FdOutOfRange,
            FdsUnsortedOrDuplicate,
            UnknownFdKind,
            UnknownFdDisposition,
            BadFdDisposition,
            BadCloexec,
            BadFdOffset,
            BadTrailerMagic,
            TrailerChecksum,
            TrailerMismatch,
            TailChecksum,
            BadPageCrcTable,
            PageChecksum,
            BadBuffer,
            CpuMissingFeatures,
            CpuXsaveTooSmall,
        ]
    };

    /// Short stable name, e.g. "bad-magic".
    pub const fn name(self) -> &'static str {
        use FormatError::*;
        match self {
            Truncated => "truncated",
            TrailingData => "trailing-data",
            BadMagic => "bad-magic",
            UnknownMajorVersion => "unknown-major-version",
            HeaderChecksum => "header-checksum",
            UnsupportedArch => "unsupported-arch",
            UnsupportedPageSize => "unsupported-page-size",
            UnknownHeaderFlags => "unknown-header-flags",
            ReservedNotZero => "reserved-not-zero",
            BadTimestamp => "bad-timestamp",
            LayoutInconsistent => "layout-inconsistent",
            MetadataOverLimit => "metadata-over-limit",
            MetadataChecksum => "metadata-checksum",
            SectionChecksum => "section-checksum",
            SectionOverrun => "section-overrun",
            UnknownSectionFlags => "unknown-section-flags",
            SectionsOutOfOrder => "sections-out-of-order",
            UnknownRequiredSection => "unknown-required-section",
            MisplacedSection => "misplaced-section",
            MissingSection => "missing-section",
            BadRecordSize => "bad-record-size",
            SectionSizeMismatch => "section-size-mismatch",
            CountOverLimit => "count-over-limit",
            StringOutOfBounds => "string-out-of-bounds",
            StringNotTerminated => "string-not-terminated",
            StringContainsNul => "string-contains-nul",
            PathTooLong => "path-too-long",
            MissingPath => "missing-path",
            BadPid => "bad-pid",
            BadUmask => "bad-umask",
            BadRlimit => "bad-rlimit",
            BadMmLayout => "bad-mm-layout",
            BadXcr0 => "bad-xcr0",
            BadXsaveSize => "bad-xsave-size",
            BadAuxv => "bad-auxv",
            NoThreads => "no-threads",
            ThreadsUnsortedOrDuplicate => "threads-unsorted-or-duplicate",
            BadCodeSegment => "bad-code-segment",
            BadStackSegment => "bad-stack-segment",
            BadDataSegment => "bad-data-segment",
            NonCanonicalRegister => "non-canonical-register",
            BadEflags => "bad-eflags",
            XsaveSizeMismatch => "xsave-size-mismatch",
            XstateBvMismatch => "xstate-bv-mismatch",
            XstateBvNotInXcr0 => "xstate-bv-not-in-xcr0",
            BadXsaveHeader => "bad-xsave-header",
            BadMxcsr => "bad-mxcsr",
            BadSigaltstack => "bad-sigaltstack",
            BadRseq => "bad-rseq",
            BadSigaction => "bad-sigaction",
            Misaligned => "misaligned",
            EmptyRegion => "empty-region",
            RegionOutsideUserSpace => "region-outside-user-space",
            RegionsOverlapOrUnsorted => "regions-overlap-or-unsorted",
            BadProt => "bad-prot",
            UnknownRegionKind => "unknown-region-kind",
            UnknownRegionFlags => "unknown-region-flags",
            InconsistentRegionFlags => "inconsistent-region-flags",
            DuplicateSpecialRegion => "duplicate-special-region",
            PagesNotAllowed => "pages-not-allowed",
            PageRunIndexMismatch => "page-run-index-mismatch",
            EmptyPageRun => "empty-page-run",
            PageRunOutsideRegion => "page-run-outside-region",
            PageRunsOverlapOrUnsorted => "page-runs-overlap-or-unsorted",
            PageRunOffsetMismatch => "page-run-offset-mismatch",
            PageRunOutsideFile => "page-run-outside-file",
            PageDataLengthMismatch => "page-data-length-mismatch",
            FdOutOfRange => "fd-out-of-range",
            FdsUnsortedOrDuplicate => "fds-unsorted-or-duplicate",
            UnknownFdKind => "unknown-fd-kind",
            UnknownFdDisposition => "unknown-fd-disposition",
            BadFdDisposition => "bad-fd-disposition",
            BadCloexec => "bad-cloexec",
            BadFdOffset => "bad-fd-offset",
            BadTrailerMagic => "bad-trailer-magic",
            TrailerChecksum => "trailer-checksum",
            TrailerMismatch => "trailer-mismatch",
            TailChecksum => "tail-checksum",
            BadPageCrcTable => "bad-page-crc-table",
            PageChecksum => "page-checksum",
            BadBuffer => "bad-buffer",
            CpuMissingFeatures => "cpu-missing-features",
            CpuXsaveTooSmall => "cpu-xsave-too-small",
        }
    }
}

/// Result type of every fallible function in this module.
pub type Result<T> = core::result::Result<T, FormatError>;
