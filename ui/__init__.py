"""The app's interface parts, imported by the pages in `app_pages/`: runner access, uploads, run loading, charts,
progress, one module per phase panel, downloads, the gate widget and the join wizard. Rendering only: what is
shown comes from a `RunState` snapshot or a run directory. Text that comes from the data or a model is never
passed through HTML; where it lands in markdown it is escaped with `ui.text.md_escape`."""
