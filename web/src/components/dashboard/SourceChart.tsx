"use client";

import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { ChartFrame } from "./ChartFrame.tsx";

export type SourcePoint = { label: string; fossilKg: number; biogenicKg: number };

/** Emissions of the period per source (flue gas, fuels, grid electricity, on-site renewable). */
export function SourceChart({ points }: { points: SourcePoint[] }) {
  return (
    <ChartFrame label="emissions-by-source">
      {(reduced) => (
        <ResponsiveContainer width="100%" height="100%">
          <BarChart
            data={points}
            layout="vertical"
            accessibilityLayer={false}
            margin={{ top: 8, right: 16, bottom: 8, left: 8 }}
          >
            <CartesianGrid strokeDasharray="3 3" stroke="#c9d3cd" />
            <XAxis type="number" tick={{ fontSize: 12 }} />
            <YAxis type="category" dataKey="label" width={150} tick={{ fontSize: 12 }} />
            <Tooltip formatter={(v) => `${Number(v).toLocaleString("en", { maximumFractionDigits: 3 })} kg`} />
            <Legend />
            <Bar dataKey="fossilKg" name="Fossil CO2e (kg)" fill="#14532d" isAnimationActive={!reduced} />
            <Bar dataKey="biogenicKg" name="Biogenic CO2 (kg)" fill="#a16207" isAnimationActive={!reduced} />
          </BarChart>
        </ResponsiveContainer>
      )}
    </ChartFrame>
  );
}
