"""Demo data the project makes itself: a small, valid, standard CRDS cache.

`build_demo_cache` writes rules (one .pmap, one .imap per instrument, one
.rmap per reference type) and tiny reference files for every instrument and
reference type that the type specs shipped inside the installed `crds`
package define (``crds/<obs>/specs``, read with `crds.core.reftypes`).
`demo_datasets` returns dataset parameter sets made from the same rules, so
that best references select the generated files.

Both are deterministic: the same arguments give byte-identical files (fixed
dates, no current timestamps, sorted output).  `server.live_in` then plays a
short operational story on an imported demo catalog with the server's own
actions (``crds-server demo --story``).

A tool, not catalog domain: it sits at entry-point level (it drives the
submission, catalog, deliveries and reprocessing actions), and only commands
and tests import it.  Modules by topic: `specs` (conventions, selector
layouts, profiles, dates), `rules` (names, planned references, mapping text),
`files` and `certifiable` (reference files), `datasets`, `cache`, `server`.

How the rules are made
----------------------
* Every instrument gets ``refs_per_type`` *profiles*: one value per
  parameter (DETECTOR, FILTER, ...).  Values come from the type's ``_ld.tpn``
  constraints (`crds.core.generic_tpn`); values named by equality tests in
  ``rmap_relevance`` expressions come first, so profile 0 makes most types
  relevant.  Keys without enumerated values match ``N/A`` (don't care).
* Reference ``j`` of a type is selected by profile ``j``'s values and the
  ``j``-th USEAFTER date; references whose match values coincide share one
  Match row with several USEAFTER dates.
* Types whose specs have only a Match selector (HST SYNPHOT) need one row
  per reference: keys without known values get ``DEMO<n>`` there, and types
  matched on no parameter at all (``obsmodes``, ``tmctab``, ``tmgtab``,
  ``tmttab``) hold exactly one reference.
* JWST's legacy specs without a date group get the JWST
  ``META.OBSERVATION.DATE``/``TIME`` UseAfter group, as real JWST rmaps do.
* Imaps name types as the library inserts them (`rules.imap_key`): upper
  case for JWST, lower case for HST and Roman.
* Types whose spec parameters only versioned library hooks read name those
  hooks in their rmap header (`rules.HOOKS`, ACS BIASFILE), as real rmaps do.
* Mapping checksums are written by the library
  (`crds.core.rmap.Mapping.write`, as `crds.refactoring.checksum` does).

Skipped types (cannot be expressed as rules)
--------------------------------------------
* The pseudo-instrument ``all`` and every ``all`` filekind (JWST, Roman):
  they only carry shared .tpn constraints, have no ``parkey`` and are not
  reference types of any instrument's rules.

Files the server's importer should know about
---------------------------------------------
* HST references have CDBS-style unique names made by
  `crds.hst.locate.generate_unique_name_core` (``<9 chars>_<suffix>.fits``).
  WFPC2 ``.r0h``-``.r7h`` types are GEIS: each reference is a header file
  ``<9 chars>.rNh`` (named in the rmap) plus its data file ``<9 chars>.rNd``
  (`crds.io.geis.get_conjugate`).  Instrument and filekind of every HST
  reference follow from its name via `crds.hst.locate.get_file_properties`.
* JWST FITS references carry what their certify constraints require
  (`certifiable`): keywords, an 8 x 8 subarray of every named array (a full
  2048 x 2048 frame where the constraints apply one anyway), tables;
  the SYSTEM CRDSCFG reference is the library's built-in one.
* JWST/Roman references are named ``<obs>_<instr>_<filekind>_<NNNN><ext>``;
  instrument and filekind are the 2nd and 3rd ``_`` fields.  ASDF, JSON and
  YAML files carry a ``meta`` tree (META.* keys once flattened by
  `crds.data_file.get_header`); JWST FITS files carry the usual FITS keywords
  (INSTRUME, REFTYPE, USEAFTER, ...), which the library maps to META.* only
  when ``stdatamodels`` is installed.
"""

from .cache import build_demo_cache
from .datasets import demo_datasets
from .specs import TypeRule, type_rules

__all__ = ["TypeRule", "build_demo_cache", "demo_datasets", "type_rules"]
