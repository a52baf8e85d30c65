package ddslog
