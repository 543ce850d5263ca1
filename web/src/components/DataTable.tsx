// A plain, accessible table over TanStack Table, with an optional CSV
// export of exactly the columns and rows shown.
import { flexRender, getCoreRowModel, useReactTable, type ColumnDef } from "@tanstack/react-table";
import { useTranslation } from "react-i18next";
import { downloadCSV } from "../lib/csv";

export interface Column<T> {
  id: string;
  header: string;
  /** The cell's plain value, also what the CSV export writes. */
  value: (row: T) => string | number;
  /** What the cell shows, if not the plain value. */
  render?: (row: T) => React.ReactNode;
}

interface Props<T> {
  rows: T[];
  columns: Column<T>[];
  caption?: string;
  csvName?: string;
  rowKey?: (row: T, i: number) => string;
  testId?: string;
}

export function DataTable<T>({ rows, columns, caption, csvName, rowKey, testId }: Props<T>) {
  const { t } = useTranslation();
  const defs: ColumnDef<T>[] = columns.map((c) => ({
    id: c.id,
    header: c.header,
    accessorFn: (row) => c.value(row),
    // From the row itself, not ctx.getValue(): the table caches accessor
    // values per row, and a label must follow a change of language.
    cell: (ctx) => (c.render ? c.render(ctx.row.original) : String(c.value(ctx.row.original) ?? "")),
  }));
  const table = useReactTable({
    data: rows,
    columns: defs,
    getCoreRowModel: getCoreRowModel(),
    getRowId: rowKey ? (row, i) => rowKey(row, i) : undefined,
  });
  return (
    <div className="table-wrap">
      {csvName && (
        <button
          type="button"
          className="secondary small"
          onClick={() => downloadCSV(csvName, columns.map((c) => c.header), rows.map((r) => columns.map((c) => c.value(r))))}
        >
          {t("common.exportCsv")}
        </button>
      )}
      <table data-testid={testId}>
        {caption && <caption>{caption}</caption>}
        <thead>
          {table.getHeaderGroups().map((hg) => (
            <tr key={hg.id}>
              {hg.headers.map((h) => (
                <th key={h.id} scope="col">
                  {flexRender(h.column.columnDef.header, h.getContext())}
                </th>
              ))}
            </tr>
          ))}
        </thead>
        <tbody>
          {table.getRowModel().rows.map((r) => (
            <tr key={r.id}>
              {r.getVisibleCells().map((c) => (
                <td key={c.id}>{flexRender(c.column.columnDef.cell, c.getContext())}</td>
              ))}
            </tr>
          ))}
          {rows.length === 0 && (
            <tr>
              <td colSpan={columns.length} className="muted">
                {t("common.none")}
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
