"use client";

import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { ChartFrame } from "./ChartFrame.tsx";

export type EmissionsPoint = { date: string; fossilKg: number; biogenicKg: number };

/** Attested emissions per day: fossil CO2e and biogenic CO2 side by side (never added together). */
export function EmissionsChart({ points }: { points: EmissionsPoint[] }) {
  return (
    <ChartFrame label="emissions-over-time">
      {(reduced) => (
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={points} accessibilityLayer={false} margin={{ top: 8, right: 8, bottom: 8, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="#c9d3cd" />
            <XAxis dataKey="date" tick={{ fontSize: 12 }} minTickGap={16} />
            <YAxis tick={{ fontSize: 12 }} width={64} label={{ value: "kg", angle: -90, position: "insideLeft" }} />
            <Tooltip formatter={(v) => `${Number(v).toLocaleString("en", { maximumFractionDigits: 3 })} kg`} />
            <Legend />
            <Bar dataKey="fossilKg" name="Fossil CO2e (kg)" fill="#14532d" isAnimationActive={!reduced} />
            <Bar
              dataKey="biogenicKg"
              name="Biogenic CO2, reported apart (kg)"
              fill="#a16207"
              isAnimationActive={!reduced}
            />
          </BarChart>
        </ResponsiveContainer>
      )}
    </ChartFrame>
  );
}
