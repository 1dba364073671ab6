-- Makes the attached file the default catalog; large joins spill beside it rather than fail for want of memory.
USE {catalog};
SET temp_directory = $temp_directory;
